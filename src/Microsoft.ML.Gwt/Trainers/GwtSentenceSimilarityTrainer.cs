using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Fine-tunes (or trains from scratch) a transformer that scores how similar two sentences are, with GWT-compressed Adam:
/// the sentence pair is encoded as one sequence (<c>[CLS] a [SEP] b [SEP]</c> or the family's equivalent) and Hugging
/// Face's <c>num_labels = 1</c> sequence-classification head gives one float, trained with mean squared error against
/// the float label (Hugging Face's <c>problem_type</c> "regression"). Created by
/// <c>mlContext.Regression.Trainers.GwtSentenceSimilarity(...)</c>; <see cref="Fit"/> returns a
/// <see cref="GwtSentenceSimilarityTransformer"/> that adds a float <c>Score</c> column, which
/// <c>mlContext.Regression.Evaluate</c> and <c>mlContext.Regression.EvaluateSentenceSimilarity</c> (Pearson, Spearman) read.
/// </summary>
public sealed class GwtSentenceSimilarityTrainer : IEstimator<GwtSentenceSimilarityTransformer>
{
    /// <summary>The task's name in checkpoint fingerprints.</summary>
    internal const string Task = "SentenceSimilarity";

    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="GwtSentenceSimilarityTrainer"/>: the shared ones of <see cref="GwtTextTrainerOptions"/>
    /// plus the label and score columns. The second sentence column defaults to "Sentence2", as ML.NET's
    /// <c>SentenceSimilarity</c> trainer's.</summary>
    public sealed class Options : GwtTextTrainerOptions
    {
        /// <summary>Creates options with ML.NET's <c>SentenceSimilarity</c> column defaults.</summary>
        public Options()
        {
            Sentence2ColumnName = "Sentence2";
        }

        /// <summary>The label column: a float (<c>Single</c>) similarity score, e.g. 0 to 5 as in STS-B. Rows whose label is
        /// NaN are skipped. Default "Label".</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The output score column: the predicted similarity (<c>Single</c>). Default "Score".</summary>
        public string ScoreColumnName { get; set; } = "Score";

        /// <summary>A copy with the sequence length resolved for a run.</summary>
        internal new Options WithMaxSequenceLength(int maxSequenceLength) => (Options)base.WithMaxSequenceLength(maxSequenceLength);

        internal override void Validate()
        {
            OptionCheck.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "a column name");
            OptionCheck.Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "a column name");
            base.Validate();
        }
    }

    internal GwtSentenceSimilarityTrainer(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _host = env.Register(nameof(GwtSentenceSimilarityTrainer));
        _options = options;
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.Instance);
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.SentenceSimilarity);
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions => _options;

    /// <summary>Trains on <paramref name="input"/> and returns the scoring transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    /// <exception cref="ArgumentException">The data has no labelled row, or its labels are all equal.</exception>
    /// <exception cref="OperationCanceledException"><see cref="GwtTextTrainerOptions.CancellationToken"/> or the MLContext's execution was cancelled.</exception>
    public GwtSentenceSimilarityTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken);
        CheckColumns(input.Schema, o);

        using var ch = _host.Start("Training");
        var vocabulary = o.PretrainedModelPath is null ? new FittedTiktokenTokenizer.VocabularyCounter() : null;
        var (train, trainRows) = ReadTraining(input, vocabulary, o, ch);
        TextTable? validation = null;
        if (o.ValidationSet is not null)
        {
            CheckColumns(o.ValidationSet.Schema, o);
            var scan = TextDataScan.Run(o.ValidationSet, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
                hash: o.CheckpointFolder is not null, null);
            if (scan.Skipped > 0)
            {
                ch.Warning(MessageSensitivity.None, $"Skipped {scan.Skipped} validation row(s) whose label '{o.LabelColumnName}' is NaN.");
            }
            validation = new TextTable(o.ValidationSet, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, scan);
        }

        int seed = o.Seed ?? _host.Rand.Next();
        var device = GwtTextClassificationTrainer.ResolveDevice(o.Device);
        var computeType = GwtTextClassificationTrainer.ResolvePrecision(o.Precision, device, ch);
        ch.Info(MessageSensitivity.None, $"GWT sentence similarity: {trainRows} training rows, device {device.type}, precision {computeType}, optimizer {o.Optimizer}" +
                (o.Optimizer == GwtOptimizerKind.Gwt ? $" (level {o.GwtLevel}, alpha {o.GwtAlpha})" : "") + $", seed {seed}.");

        var (config, tokenizer, maxLength) = GwtTextClassificationTrainer.PrepareModel(vocabulary, Math.Min(trainRows, o.VocabularySampleRows), o, ch);
        o = o.WithMaxSequenceLength(maxLength);
        using var random = new RunRandom(seed);
        if (random.SharingNotice is { } sharing)
        {
            ch.Info(MessageSensitivity.None, sharing);
        }
        var model = GwtTextClassificationTrainer.CreateModel(config, numClasses: 1, o, random, ch, device);
        try
        {
            var session = new TrainingSession(_host, ch, o, model, tokenizer, device, computeType, random, train, validation);
            var result = session.Run(row => row.Target,
                (batches, cancel) => new RegressionObjective(model, tokenizer.PadId, device, batches, cancel), Task);
            ch.Info(MessageSensitivity.None, $"Training done: {result.Steps} steps, optimizer state {result.OptimizerStateBytes / 1048576.0:F2} MB" +
                    (result.BestValidationAccuracy is double r ? $", best validation Pearson {r:F4}" : "") + ".");
            model.eval();
            return new GwtSentenceSimilarityTransformer(_host, model, tokenizer, new GwtSentenceSimilarityTransformer.Settings(
                new TextRegressorSettings(o.Sentence1ColumnName, o.Sentence2ColumnName, o.ScoreColumnName, o.MaxSequenceLength, o.ScoringBatchSize),
                o.Device, o.Precision, o.SaveWeightsAsBFloat16), result);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Checks the label and text columns (each error names its column).</summary>
    private static void CheckColumns(DataViewSchema schema, Options o)
    {
        TextColumns.CheckFloatLabel(schema, o.LabelColumnName);
        TextColumns.CheckText(schema, o.Sentence1ColumnName, "text");
        if (o.Sentence2ColumnName is not null)
        {
            TextColumns.CheckText(schema, o.Sentence2ColumnName, "text");
        }
    }

    /// <summary>Scans the training data (without a pass where it reports its row count) and refuses data with no labelled
    /// row or a constant label.</summary>
    private static (TextTable Table, long Rows) ReadTraining(IDataView input, FittedTiktokenTokenizer.VocabularyCounter? vocabulary, Options o, IChannel ch)
    {
        var scan = TextDataScan.WithoutReading(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
                hash: o.CheckpointFolder is not null, vocabulary, o.VocabularySampleRows)
            ?? TextDataScan.Run(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
                hash: o.CheckpointFolder is not null, vocabulary, o.VocabularySampleRows);
        if (scan.Skipped > 0)
        {
            ch.Warning(MessageSensitivity.None, $"Skipped {scan.Skipped} training row(s) whose label '{o.LabelColumnName}' is NaN.");
        }
        if (scan.Rows == 0)
        {
            throw new ArgumentException($"The training data has no rows with a label in column '{o.LabelColumnName}' (all are NaN or there are none).", nameof(input));
        }
        if (scan.TargetRange is { } range && range.Min == range.Max)
        {
            throw new ArgumentException(
                $"Every training label in column '{o.LabelColumnName}' is {range.Min}; sentence similarity needs labels that vary.", nameof(input));
        }
        return (new TextTable(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, scan), scan.Rows);
    }

    /// <summary>Adds the float score column to an input schema shape: the column, type and annotations the trained
    /// transformer produces.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        var label = inputSchema.FirstOrDefault(c => c.Name == o.LabelColumnName);
        if (label.Name is null)
        {
            throw new ArgumentOutOfRangeException(o.LabelColumnName, $"Could not find label column '{o.LabelColumnName}'.");
        }
        if (label.IsKey || label.ItemType != NumberDataViewType.Single || label.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(o.LabelColumnName, $"Schema mismatch for label column '{o.LabelColumnName}': expected Single, got {label.ItemType}{(label.IsKey ? " key" : "")}{(label.Kind != SchemaShape.Column.VectorKind.Scalar ? " vector" : "")}.");
        }
        foreach (var name in new[] { o.Sentence1ColumnName, o.Sentence2ColumnName }.OfType<string>())
        {
            var text = inputSchema.FirstOrDefault(c => c.Name == name);
            if (text.Name is null)
            {
                throw new ArgumentOutOfRangeException(name, $"Could not find text column '{name}'.");
            }
            if (text.ItemType is not TextDataViewType || text.Kind != SchemaShape.Column.VectorKind.Scalar)
            {
                throw new ArgumentOutOfRangeException(name, $"Schema mismatch for text column '{name}': expected String, got {text.ItemType}.");
            }
        }
        var columns = inputSchema.Where(c => c.Name != o.ScoreColumnName).ToList();
        columns.AddRange(new RegressionScoreColumns(o.ScoreColumnName).ToShape());
        return new SchemaShape(columns);
    }
}
