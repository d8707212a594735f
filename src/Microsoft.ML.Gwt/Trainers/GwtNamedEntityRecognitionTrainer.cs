using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Fine-tunes (or trains from scratch) a transformer that tags each word of a sentence (named entity recognition), with
/// GWT-compressed Adam: the sentence's whitespace-separated words are encoded as Hugging Face encodes pre-split words,
/// Hugging Face's <c>*ForTokenClassification</c> head gives tag logits at every position, and the loss is the
/// cross-entropy at each word's first sub-token (the other sub-tokens and the special tokens are ignored: Hugging Face's
/// <c>run_ner.py</c> with <c>label_all_tokens=False</c>). Created by
/// <c>mlContext.MulticlassClassification.Trainers.GwtNamedEntityRecognition(...)</c>; <see cref="Fit"/> returns a
/// <see cref="GwtNamedEntityRecognitionTransformer"/> that adds a vector of tag keys, one per word.
/// </summary>
public sealed class GwtNamedEntityRecognitionTrainer : IEstimator<GwtNamedEntityRecognitionTransformer>
{
    /// <summary>The task's name in checkpoint fingerprints.</summary>
    internal const string Task = "NamedEntityRecognition";

    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="GwtNamedEntityRecognitionTrainer"/>: the shared ones of
    /// <see cref="GwtTextTrainerOptions"/> plus the label and output columns. The text column defaults to "Sentence", as
    /// ML.NET's <c>NamedEntityRecognition</c> trainer's; a second text column is not used.</summary>
    public sealed class Options : GwtTextTrainerOptions
    {
        /// <summary>Creates options with ML.NET's <c>NamedEntityRecognition</c> column defaults.</summary>
        public Options()
        {
            Sentence1ColumnName = "Sentence";
        }

        /// <summary>The label column: a vector of <c>Key&lt;UInt32&gt;</c>, one tag per whitespace-separated word of the
        /// sentence (e.g. a string vector of IOB2 tags mapped with <c>MapValueToKey</c>). Default "Label".</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The output column: a vector of keys, one per word, with the label's key values. Default
        /// "PredictedLabel" (ML.NET's <c>NamedEntityRecognition</c> default).</summary>
        public string OutputColumnName { get; set; } = "PredictedLabel";

        /// <summary>A copy with the sequence length resolved for a run.</summary>
        internal new Options WithMaxSequenceLength(int maxSequenceLength) => (Options)base.WithMaxSequenceLength(maxSequenceLength);

        internal override void Validate()
        {
            OptionCheck.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "a column name");
            OptionCheck.Require(!string.IsNullOrWhiteSpace(OutputColumnName), nameof(OutputColumnName), OutputColumnName, "a column name");
            OptionCheck.Require(Sentence2ColumnName is null, nameof(Sentence2ColumnName), Sentence2ColumnName, "null (named entity recognition reads one text column)");
            base.Validate();
        }
    }

    internal GwtNamedEntityRecognitionTrainer(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _host = env.Register(nameof(GwtNamedEntityRecognitionTrainer));
        _options = options;
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.Instance);
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.NamedEntityRecognition);
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions => _options;

    /// <summary>Trains on <paramref name="input"/> and returns the tagging transformer. All rows are held in memory.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    /// <exception cref="ArgumentException">A row's word count differs from its tag count, a tag is missing (the message
    /// names the column and the row), the data has no row, or the validation set's tags are mapped differently.</exception>
    /// <exception cref="OperationCanceledException"><see cref="GwtTextTrainerOptions.CancellationToken"/> or the MLContext's execution was cancelled.</exception>
    public GwtNamedEntityRecognitionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken);
        var labelColumn = CheckColumns(input.Schema, o);
        var tags = LabelKeys.FromColumn(labelColumn)!;

        using var ch = _host.Start("Training");
        var vocabulary = o.PretrainedModelPath is null ? new FittedTiktokenTokenizer.VocabularyCounter() : null;
        var tagCounts = new List<long>();
        var trainScan = NamedEntityRows.Read(input, o.LabelColumnName, o.Sentence1ColumnName, "training", o.CheckpointFolder is not null,
            vocabulary, o.VocabularySampleRows, tagCounts);
        if (trainScan.Rows == 0)
        {
            throw new ArgumentException($"The training data has no rows (label column '{o.LabelColumnName}').", nameof(input));
        }
        var train = new TextTable(input, o.LabelColumnName, o.Sentence1ColumnName, null, trainScan);
        TextTable? validation = null;
        if (o.ValidationSet is not null)
        {
            var validationLabel = CheckColumns(o.ValidationSet.Schema, o);
            if (LabelKeys.FromColumn(validationLabel)!.FirstDifference(tags) is { } difference)
            {
                throw new ArgumentException(
                    $"The validation set's label column '{o.LabelColumnName}' has another key mapping than the training data (validation against training: {difference}); map both with the same fitted MapValueToKey.",
                    nameof(Options.ValidationSet));
            }
            var scan = NamedEntityRows.Read(o.ValidationSet, o.LabelColumnName, o.Sentence1ColumnName, "validation", o.CheckpointFolder is not null,
                null, 0, new List<long>());
            validation = new TextTable(o.ValidationSet, o.LabelColumnName, o.Sentence1ColumnName, null, scan);
        }
        int tagCount = tags.Count;
        int fallback = Enumerable.Range(0, tagCounts.Count).MaxBy(i => tagCounts[i]);
        var names = tags.ToText();

        int seed = o.Seed ?? _host.Rand.Next();
        var device = GwtTextClassificationTrainer.ResolveDevice(o.Device);
        var computeType = GwtTextClassificationTrainer.ResolvePrecision(o.Precision, device, ch);
        ch.Info(MessageSensitivity.None, $"GWT named entity recognition: {trainScan.Rows} training rows, {tagCount} tags (most frequent '{names[fallback]}', " +
            $"given to words that get no token), device {device.type}, precision {computeType}, optimizer {o.Optimizer}" +
            (o.Optimizer == GwtOptimizerKind.Gwt ? $" (level {o.GwtLevel}, alpha {o.GwtAlpha})" : "") + $", seed {seed}.");

        var (config, tokenizer, maxLength) = GwtTextClassificationTrainer.PrepareModel(vocabulary, Math.Min(trainScan.Rows, o.VocabularySampleRows), o, ch);
        o = o.WithMaxSequenceLength(maxLength);
        using var random = new RunRandom(seed);
        if (random.SharingNotice is { } sharing)
        {
            ch.Info(MessageSensitivity.None, sharing);
        }
        var model = GwtTextClassificationTrainer.CreateModel(config, tagCount, o, random, ch, device, TextHeadKind.TokenClassification);
        try
        {
            int cut = 0;
            (EncodedText, int[]) Encode(TextExample row)
            {
                var words = WordAlignment.Words(row.First);
                var encoded = tokenizer.EncodeWords(words, o.MaxSequenceLength);
                if (words.Length > 0 && encoded.WordIndex.Max() < words.Length - 1)
                {
                    Interlocked.Increment(ref cut);
                }
                return (encoded.Text, WordAlignment.TokenLabels(encoded.WordIndex, row.Tags!));
            }
            var session = new TrainingSession(_host, ch, o, model, tokenizer, device, computeType, random, train, validation);
            var result = session.Run(row => row.Tags!,
                (batches, cancel) => new TokenClassificationObjective(model, tokenizer.PadId, device, names, batches, cancel), Task, Encode);
            if (cut > 0)
            {
                ch.Warning(MessageSensitivity.None, $"{cut} encoding(s) of rows lost their last words to the {o.MaxSequenceLength}-token limit (MaxSequenceLength); those words were not trained on.");
            }
            ch.Info(MessageSensitivity.None, $"Training done: {result.Steps} steps, optimizer state {result.OptimizerStateBytes / 1048576.0:F2} MB" +
                    (result.BestValidationAccuracy is double f ? $", best validation entity F1 {f:F4}" : "") + ".");
            model.eval();
            return new GwtNamedEntityRecognitionTransformer(_host, model, tokenizer, new GwtNamedEntityRecognitionTransformer.Settings(
                new TokenClassifierSettings(o.Sentence1ColumnName, o.OutputColumnName, o.MaxSequenceLength, o.ScoringBatchSize, fallback, tags),
                o.Device, o.Precision, o.SaveWeightsAsBFloat16), result);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Checks the label and text columns (each error names its column); returns the label column.</summary>
    private static DataViewSchema.Column CheckColumns(DataViewSchema schema, Options o)
    {
        var label = NamedEntityRows.CheckTagColumn(schema, o.LabelColumnName);
        TextColumns.CheckText(schema, o.Sentence1ColumnName, "text");
        return label;
    }

    /// <summary>Adds the output column to an input schema shape: a vector of keys with the label's key values.</summary>
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
        if (!label.IsKey || label.ItemType.RawType != typeof(uint) || label.Kind == SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(o.LabelColumnName,
                $"Schema mismatch for label column '{o.LabelColumnName}': expected a vector of Key<UInt32>, got {label.ItemType}{(label.IsKey ? " key" : "")}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        }
        var text = inputSchema.FirstOrDefault(c => c.Name == o.Sentence1ColumnName);
        if (text.Name is null)
        {
            throw new ArgumentOutOfRangeException(o.Sentence1ColumnName, $"Could not find text column '{o.Sentence1ColumnName}'.");
        }
        if (text.ItemType is not TextDataViewType || text.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(o.Sentence1ColumnName, $"Schema mismatch for text column '{o.Sentence1ColumnName}': expected String, got {text.ItemType}.");
        }
        var columns = inputSchema.Where(c => c.Name != o.OutputColumnName).ToList();
        columns.AddRange(TokenClassifierColumns.ToShape(o.OutputColumnName, label));
        return new SchemaShape(columns);
    }
}
