using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Fine-tunes (or trains from scratch) a transformer for extractive question answering with GWT-compressed Adam (or
/// AdamW): the question and a window of the context are encoded as one sequence, Hugging Face's
/// <c>*ForQuestionAnswering</c> span head (<c>qa_outputs</c>) gives every position a start and an end logit, trained with
/// its loss against the answer's token span (a window that does not hold the whole answer points at the classification
/// token). Contexts longer than a window are split into overlapping windows (<see cref="Options.DocumentStride"/>).
/// Created by <c>mlContext.MulticlassClassification.Trainers.GwtQuestionAnswer(...)</c>, with ML.NET's
/// <c>QuestionAnswer</c> trainer's column names and defaults; <see cref="Fit"/> returns a
/// <see cref="GwtQuestionAnswerTransformer"/> that adds the top-k answers and their scores.
/// </summary>
public sealed class GwtQuestionAnswerTrainer : IEstimator<GwtQuestionAnswerTransformer>
{
    /// <summary>The task's name in checkpoint fingerprints.</summary>
    internal const string Task = "QuestionAnswer";

    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="GwtQuestionAnswerTrainer"/>: the shared ones of <see cref="GwtTextTrainerOptions"/>
    /// (whose sentence columns it does not read) plus the question-answering columns and limits. Batch size 4, as ML.NET's
    /// <c>QuestionAnswer</c>.</summary>
    public sealed class Options : GwtTextTrainerOptions
    {
        /// <summary>Creates options with ML.NET's <c>QuestionAnswer</c> defaults (batch size 4).</summary>
        public Options()
        {
            BatchSize = 4;
        }

        /// <summary>The context column (text). Default "Context".</summary>
        public string ContextColumnName { get; set; } = "Context";

        /// <summary>The question column (text). Default "Question".</summary>
        public string QuestionColumnName { get; set; } = "Question";

        /// <summary>The training answer column (text): the answer as it is written in the context. Default "TrainingAnswer".</summary>
        public string TrainingAnswerColumnName { get; set; } = "TrainingAnswer";

        /// <summary>The answer index column (<c>Int32</c>): the character offset of the answer in the context. Rows whose
        /// answer is not the context's text at that offset are skipped (the log counts them). Default "AnswerIndex".</summary>
        public string AnswerIndexColumnName { get; set; } = "AnswerIndex";

        /// <summary>The output column of answers: a vector of text, the best first. Default "Answer".</summary>
        public string PredictedAnswerColumnName { get; set; } = "Answer";

        /// <summary>The output column of the answers' scores: a vector of float, each answer's probability by a softmax
        /// over the n-best candidates' start + end logits (Hugging Face's <c>postprocess_qa_predictions</c>). Default "Score".</summary>
        public string ScoreColumnName { get; set; } = "Score";

        /// <summary>Answers per row, at most. Default 3.</summary>
        public int TopKAnswers { get; set; } = 3;

        /// <summary>Tokens two consecutive windows of a long context share (Hugging Face's <c>doc_stride</c> in run_qa.py,
        /// the tokenizer's <c>stride</c>; ML.NET's trainer has none: it cuts contexts at 512 tokens). Null: a third of
        /// <see cref="GwtTextTrainerOptions.MaxSequenceLength"/> (128 at 384 tokens, run_qa.py's defaults; 42 at 128).</summary>
        public int? DocumentStride { get; set; }

        /// <summary>A longer question is cut to this many tokens (BERT run_squad.py's <c>max_query_length</c>). Default 64.</summary>
        public int MaxQuestionTokens { get; set; } = 64;

        /// <summary>The longest answer predicted, in tokens (Hugging Face's <c>max_answer_length</c>). Default 30.</summary>
        public int MaxAnswerTokens { get; set; } = 30;

        /// <summary>A copy with the sequence length resolved for a run.</summary>
        internal new Options WithMaxSequenceLength(int maxSequenceLength) => (Options)base.WithMaxSequenceLength(maxSequenceLength);

        /// <summary>The window layout for a resolved sequence length.</summary>
        internal QuestionAnswerLayout Layout() => new(MaxSequenceLength, DocumentStride ?? MaxSequenceLength / 3, MaxQuestionTokens, MaxAnswerTokens);

        internal override void Validate()
        {
            foreach (var (name, value) in new[]
            {
                (nameof(ContextColumnName), ContextColumnName), (nameof(QuestionColumnName), QuestionColumnName),
                (nameof(TrainingAnswerColumnName), TrainingAnswerColumnName), (nameof(AnswerIndexColumnName), AnswerIndexColumnName),
                (nameof(PredictedAnswerColumnName), PredictedAnswerColumnName), (nameof(ScoreColumnName), ScoreColumnName),
            })
            {
                OptionCheck.Require(!string.IsNullOrWhiteSpace(value), name, value, "a column name");
            }
            OptionCheck.Require(TopKAnswers >= 1, nameof(TopKAnswers), TopKAnswers, ">= 1");
            OptionCheck.Require(DocumentStride is null or >= 0, nameof(DocumentStride), DocumentStride, ">= 0, or null (a third of MaxSequenceLength)");
            OptionCheck.Require(MaxQuestionTokens >= 1, nameof(MaxQuestionTokens), MaxQuestionTokens, ">= 1");
            OptionCheck.Require(MaxAnswerTokens >= 1, nameof(MaxAnswerTokens), MaxAnswerTokens, ">= 1");
            OptionCheck.Require(MaxSequenceLength >= 8, nameof(MaxSequenceLength), MaxSequenceLength, ">= 8 (room for a question and a context window)");
            base.Validate();
        }
    }

    internal GwtQuestionAnswerTrainer(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _host = env.Register(nameof(GwtQuestionAnswerTrainer));
        _options = options;
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.Instance);
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.QuestionAnswer);
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions => _options;

    /// <summary>Trains on <paramref name="input"/> (its rows are read into memory once) and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    /// <exception cref="ArgumentException">No row has an answer that is the context's text at its index.</exception>
    /// <exception cref="OperationCanceledException"><see cref="GwtTextTrainerOptions.CancellationToken"/> or the MLContext's execution was cancelled.</exception>
    public GwtQuestionAnswerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken);
        QuestionAnswerData.CheckColumns(input.Schema, o);
        List<QuestionAnswerRow>? validation = null;
        if (o.ValidationSet is not null)
        {
            QuestionAnswerData.CheckColumns(o.ValidationSet.Schema, o);
            validation = QuestionAnswerData.Read(o.ValidationSet, o);
        }

        using var ch = _host.Start("Training");
        var rows = QuestionAnswerData.Read(input, o);
        FittedTiktokenTokenizer.VocabularyCounter? vocabulary = null;
        if (o.PretrainedModelPath is null)
        {
            vocabulary = new FittedTiktokenTokenizer.VocabularyCounter();
            foreach (var r in rows.Take(o.VocabularySampleRows))
            {
                vocabulary.Add(r.Question);
                vocabulary.Add(r.Context);
            }
        }
        int seed = o.Seed ?? _host.Rand.Next();
        var device = GwtTextClassificationTrainer.ResolveDevice(o.Device);
        var computeType = GwtTextClassificationTrainer.ResolvePrecision(o.Precision, device, ch);
        var (config, tokenizer, maxLength) = GwtTextClassificationTrainer.PrepareModel(vocabulary, Math.Min(rows.Count, o.VocabularySampleRows), o, ch);
        o = o.WithMaxSequenceLength(maxLength);
        var layout = o.Layout();
        var (examples, skipped) = QuestionAnswerData.Windows(rows, tokenizer, layout);
        if (skipped > 0)
        {
            ch.Warning(MessageSensitivity.None,
                $"Skipped {skipped} training row(s) whose answer ('{o.TrainingAnswerColumnName}') is empty or not the context's text at its index ('{o.AnswerIndexColumnName}').");
        }
        if (examples.Count == 0)
        {
            throw new ArgumentException(
                $"No training row has an answer ('{o.TrainingAnswerColumnName}') that is the context's ('{o.ContextColumnName}') text at its index ('{o.AnswerIndexColumnName}').", nameof(input));
        }
        ch.Info(MessageSensitivity.None, $"GWT question answering: {rows.Count - skipped} training questions in {examples.Count} windows of {layout.MaxSequenceLength} tokens " +
            $"(document stride {layout.DocumentStride}), device {device.type}, precision {computeType}, optimizer {o.Optimizer}" +
            (o.Optimizer == GwtOptimizerKind.Gwt ? $" (level {o.GwtLevel}, alpha {o.GwtAlpha})" : "") + $", seed {seed}.");

        using var random = new RunRandom(seed);
        if (random.SharingNotice is { } sharing)
        {
            ch.Info(MessageSensitivity.None, sharing);
        }
        var model = GwtTextClassificationTrainer.CreateModel(config, numClasses: 2, o, random, ch, device, TextHeadKind.QuestionAnswering);
        try
        {
            bool hash = o.CheckpointFolder is not null;
            var trainScan = TextDataScan.OfRows(examples.Count, skipped, hash ? QuestionAnswerData.Sha256(rows) : null);
            var validationScan = validation is null ? null : TextDataScan.OfRows(validation.Count, 0, hash ? QuestionAnswerData.Sha256(validation) : null);
            var objective = new QuestionAnswerObjective(model, tokenizer, layout, device, validation, o.ScoringBatchSize,
                () => MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken));
            var session = new TrainingSession(_host, ch, o, model, tokenizer, device, computeType, random, null, null);
            var result = session.RunInMemory(examples, e => e.Text.Ids.Length, objective, trainScan, validationScan, Task);
            ch.Info(MessageSensitivity.None, $"Training done: {result.Steps} steps, optimizer state {result.OptimizerStateBytes / 1048576.0:F2} MB" +
                    (result.BestValidationAccuracy is double f1 ? $", best validation F1 {100 * f1:F2}" : "") + ".");
            model.eval();
            return new GwtQuestionAnswerTransformer(_host, model, tokenizer, new GwtQuestionAnswerTransformer.ModelSettings(
                new QuestionAnswerSettings(o.ContextColumnName, o.QuestionColumnName, o.PredictedAnswerColumnName, o.ScoreColumnName, o.TopKAnswers,
                    layout, o.ScoringBatchSize),
                o.Device, o.Precision, o.SaveWeightsAsBFloat16), result);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Adds the answer and score columns to an input schema shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        foreach (var (name, role) in new[] { (o.ContextColumnName, "context"), (o.QuestionColumnName, "question"), (o.TrainingAnswerColumnName, "training answer") })
        {
            var text = inputSchema.FirstOrDefault(c => c.Name == name);
            if (text.Name is null)
            {
                throw new ArgumentOutOfRangeException(name, $"Could not find {role} column '{name}'.");
            }
            if (text.ItemType is not TextDataViewType || text.Kind != SchemaShape.Column.VectorKind.Scalar)
            {
                throw new ArgumentOutOfRangeException(name, $"Schema mismatch for {role} column '{name}': expected String, got {text.ItemType}.");
            }
        }
        var index = inputSchema.FirstOrDefault(c => c.Name == o.AnswerIndexColumnName);
        if (index.Name is null)
        {
            throw new ArgumentOutOfRangeException(o.AnswerIndexColumnName, $"Could not find answer index column '{o.AnswerIndexColumnName}'.");
        }
        if (index.ItemType != NumberDataViewType.Int32 || index.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(o.AnswerIndexColumnName, $"Schema mismatch for answer index column '{o.AnswerIndexColumnName}': expected Int32, got {index.ItemType}.");
        }
        var columns = inputSchema.Where(c => c.Name != o.PredictedAnswerColumnName && c.Name != o.ScoreColumnName).ToList();
        columns.AddRange(QuestionAnswerTransformerBase.OutputShape(o.PredictedAnswerColumnName, o.ScoreColumnName));
        return new SchemaShape(columns);
    }
}
