using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Fine-tunes (or trains from scratch) a BERT/RoBERTa-family text classifier with GWT-compressed Adam. Created by
/// <c>mlContext.MulticlassClassification.Trainers.Gwt(...)</c>; <see cref="Fit"/> returns a
/// <see cref="GwtTextClassificationTransformer"/> that adds a <c>Score</c> vector of class probabilities and a
/// <c>PredictedLabel</c> key column.
/// </summary>
public sealed partial class GwtTextClassificationTrainer : IEstimator<GwtTextClassificationTransformer>
{
    private readonly IHost _host;
    private readonly Options _options;

    internal GwtTextClassificationTrainer(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _host = env.Register(nameof(GwtTextClassificationTrainer));
        _options = options;
        MlNetInterop.RegisterLoaders(env, GwtModelLoaderAssembly.Instance);
    }

    /// <summary>The options this trainer was created with.</summary>
    public Options TrainerOptions => _options;

    /// <summary>Trains on <paramref name="input"/> and returns the scoring transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it).</exception>
    /// <exception cref="ArgumentException">The data is empty or has a single class.</exception>
    /// <exception cref="OperationCanceledException"><see cref="GwtTextTrainerOptions.CancellationToken"/> or the MLContext's execution was cancelled.</exception>
    public GwtTextClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken);
        var (numClasses, labelKeys) = CheckColumns(input.Schema, o.LabelColumnName, o);

        using var ch = _host.Start("Training");
        var vocabulary = o.PretrainedModelPath is null ? new FittedTiktokenTokenizer.VocabularyCounter() : null;
        var (train, trainRows) = ReadTraining(input, numClasses, vocabulary, o, ch);
        var validation = o.ValidationSet is null ? null : ReadValidation(o.ValidationSet, numClasses, labelKeys, o, ch);

        int seed = o.Seed ?? _host.Rand.Next();
        var device = ResolveDevice(o.Device);
        var computeType = ResolvePrecision(o.Precision, device, ch);
        ch.Info(MessageSensitivity.None, $"GWT trainer: {trainRows} training rows, {numClasses} classes, device {device.type}, precision {computeType}, optimizer {o.Optimizer}" +
                (o.Optimizer == GwtOptimizerKind.Gwt ? $" (level {o.GwtLevel}, alpha {o.GwtAlpha})" : "") + $", seed {seed}.");

        var (config, tokenizer, maxLength) = PrepareModel(vocabulary, Math.Min(trainRows, o.VocabularySampleRows), o, ch);
        o = o.WithMaxSequenceLength(maxLength);
        using var random = new RunRandom(seed);
        if (random.SharingNotice is { } sharing)
        {
            ch.Info(MessageSensitivity.None, sharing);
        }
        var model = CreateModel(config, numClasses, o, random, ch, device);
        try
        {
            var session = new TrainingSession(_host, ch, o, model, tokenizer, device, computeType, random, train, validation);
            var result = session.Run();
            ch.Info(MessageSensitivity.None, $"Training done: {result.Steps} steps, optimizer state {result.OptimizerStateBytes / 1048576.0:F2} MB" +
                    (result.BestValidationAccuracy is double acc ? $", best validation accuracy {acc:P2}" : "") + ".");
            model.eval();
            return new GwtTextClassificationTransformer(_host, model, tokenizer, new GwtTextClassificationTransformer.Settings(
                o.Sentence1ColumnName, o.Sentence2ColumnName, o.ScoreColumnName, o.PredictedLabelColumnName, o.MaxSequenceLength,
                o.ScoringBatchSize, labelKeys, o.Device, o.Precision, o.SaveWeightsAsBFloat16), result);
        }
        catch
        {
            // A failed or cancelled run returns no model: its tensors are freed now, not left to the finalizer (on CUDA,
            // device memory the next run needs).
            model.Dispose();
            throw;
        }
    }

    /// <summary>Checks the label and text columns of <paramref name="schema"/> (each error names its column) and returns
    /// the label's key count and key values.</summary>
    private static (int NumClasses, LabelKeys? Labels) CheckColumns(DataViewSchema schema, string labelColumnName, Options o)
    {
        var labelColumn = TextColumns.CheckLabel(schema, labelColumnName);
        TextColumns.CheckText(schema, o.Sentence1ColumnName, "text");
        if (o.Sentence2ColumnName is not null)
        {
            TextColumns.CheckText(schema, o.Sentence2ColumnName, "text");
        }
        return ((int)((KeyDataViewType)labelColumn.Type).Count, LabelKeys.FromColumn(labelColumn));
    }

    /// <summary>Scans the training data (without a pass where it reports its row count; counting
    /// <paramref name="vocabulary"/> when training from scratch) and refuses data with no labelled row or a single class.</summary>
    private static (TextTable Table, long Rows) ReadTraining(IDataView input, int numClasses, FittedTiktokenTokenizer.VocabularyCounter? vocabulary, Options o, IChannel ch)
    {
        var scan = TextDataScan.WithoutReading(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
                hash: o.CheckpointFolder is not null, vocabulary, o.VocabularySampleRows)
            ?? TextDataScan.Run(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
                hash: o.CheckpointFolder is not null, vocabulary, o.VocabularySampleRows);
        if (scan.Skipped > 0)
        {
            ch.Warning(MessageSensitivity.None, $"Skipped {scan.Skipped} training row(s) whose label '{o.LabelColumnName}' is missing (a value the key mapping did not know).");
        }
        if (scan.Rows == 0)
        {
            throw new ArgumentException($"The training data has no rows with a label in column '{o.LabelColumnName}'.", nameof(input));
        }
        // Without a pass over the rows (a reported row count) the label type's key count is all that is known.
        int distinct = scan.Labels?.Count ?? numClasses;
        if (numClasses < 2 || distinct < 2)
        {
            throw new ArgumentException(
                $"The label column '{o.LabelColumnName}' has {distinct} distinct value(s) in the training data; a classifier needs at least 2.", nameof(input));
        }
        return (new TextTable(input, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, scan), scan.Rows);
    }

    /// <summary>Checks the validation set's columns and that its label has the training label's keys, and scans it.</summary>
    private static TextTable ReadValidation(IDataView validation, int numClasses, LabelKeys? labelKeys, Options o, IChannel ch)
    {
        CheckColumns(validation.Schema, o.LabelColumnName, o);
        CheckSameKeys(validation.Schema[o.LabelColumnName], numClasses, labelKeys, o.LabelColumnName);
        var scan = TextDataScan.Run(validation, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, o.MaxCachedRows,
            hash: o.CheckpointFolder is not null, null);
        if (scan.Skipped > 0)
        {
            ch.Warning(MessageSensitivity.None, $"Skipped {scan.Skipped} validation row(s) with a missing label.");
        }
        return new TextTable(validation, o.LabelColumnName, o.Sentence1ColumnName, o.Sentence2ColumnName, scan);
    }

    /// <summary>The classifier, initialized from the run's seed (holding TorchSharp's generator) and loaded from the
    /// checkpoint when fine-tuning, on <paramref name="device"/>; disposed again if any of that fails. 1 class: a
    /// regression model (sentence similarity).</summary>
    internal static TextClassificationModel CreateModel(TransformerConfig config, int numClasses, GwtTextTrainerOptions o, RunRandom random, IChannel ch, Device device,
        TextHeadKind head = TextHeadKind.SequenceClassification)
    {
        TextClassificationModel model;
        using (random.Initialization())
        {
            model = new TextClassificationModel(config, numClasses, head);
        }
        try
        {
            if (o.PretrainedModelPath is not null)
            {
                foreach (var line in CheckpointLoader.LoadClassifier(model, o.PretrainedModelPath).Lines)
                {
                    ch.Info(MessageSensitivity.None, line);
                }
            }
            GwtLevelCheck.ThrowIfTooHigh(model.named_parameters(), o);
            model.to(device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The validation label must use the training label's key mapping: the same count and the same values in
    /// the same order (otherwise validation accuracy and early stopping compare other classes).</summary>
    private static void CheckSameKeys(DataViewSchema.Column validationLabel, int numClasses, LabelKeys? trainKeys, string name)
    {
        ulong count = ((KeyDataViewType)validationLabel.Type).Count;
        var validationKeys = LabelKeys.FromColumn(validationLabel);
        string? difference;
        if (count != (ulong)numClasses)
        {
            difference = $"{count} keys against {numClasses}";
        }
        else if (trainKeys is null || validationKeys is null)
        {
            difference = trainKeys == validationKeys ? null : $"key values {(validationKeys is null ? "absent" : "present")} against {(trainKeys is null ? "absent" : "present")}";
        }
        else
        {
            difference = validationKeys.FirstDifference(trainKeys);
        }
        if (difference is not null)
        {
            throw new ArgumentException(
                $"The validation set's label column '{name}' has another key mapping than the training data (validation against training: {difference}); map both with the same fitted MapValueToKey.",
                nameof(Options.ValidationSet));
        }
    }

    /// <summary>Adds the score and predicted-label columns to an input schema shape: the same columns, types and
    /// annotations the trained transformer produces (<c>PredictedLabel</c>'s key values have the label's own type).</summary>
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
        if (!label.IsKey || label.ItemType != NumberDataViewType.UInt32 || label.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(o.LabelColumnName, $"Schema mismatch for label column '{o.LabelColumnName}': expected Key<UInt32>, got {label.ItemType}{(label.IsKey ? " key" : "")}.");
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
        var columns = inputSchema.Where(c => c.Name != o.ScoreColumnName && c.Name != o.PredictedLabelColumnName).ToList();
        columns.AddRange(ScoreColumns.ForShape(o.ScoreColumnName, o.PredictedLabelColumnName, label).ToShape());
        return new SchemaShape(columns);
    }

    /// <summary>The compute type training runs in, by the rule scoring uses too (<see cref="PrecisionHardware.Resolve"/>);
    /// says once what the user should know: a warning where the choice is slow or not what was asked, or, for a float32
    /// run where bfloat16 would be fast, the measured gain.</summary>
    internal static ScalarType ResolvePrecision(GwtPrecision precision, Device device, IChannel ch)
    {
        PrecisionHardware.ThrowIfUntrainable(precision, device, nameof(Options.Precision));
        var choice = PrecisionHardware.Resolve(precision, device);
        if (choice.Warning is not null)
        {
            ch.Warning(MessageSensitivity.None, choice.Warning);
        }
        if (PrecisionHardware.Float32Notice(choice.ComputeType, device) is { } notice)
        {
            ch.Info(MessageSensitivity.None, notice);
        }
        return choice.ComputeType;
    }

    internal static Device ResolveDevice(GwtDevice device) => device switch
    {
        GwtDevice.Cpu => torch.CPU,
        GwtDevice.Cuda => torch.cuda.is_available() ? torch.CUDA
            : throw new InvalidOperationException("Device is Cuda but TorchSharp reports no CUDA device; reference TorchSharp-cuda-linux (or -windows) and check the GPU driver."),
        _ => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
    };

    internal static (TransformerConfig Config, TextTokenizer Tokenizer, int MaxLength) PrepareModel(FittedTiktokenTokenizer.VocabularyCounter? vocabulary,
        long vocabularyRows, GwtTextTrainerOptions o, IChannel ch)
    {
        if (o.PretrainedModelPath is not null)
        {
            var config = CheckpointLoader.ReadConfig(o.PretrainedModelPath);
            var tokenizer = TextTokenizer.FromPretrained(o.PretrainedModelPath, config);
            CheckpointLoader.WeightsPath(o.PretrainedModelPath);
            int maxLength = ResolveMaxSequenceLength(o, config, o.PretrainedModelPath);
            ch.Info(MessageSensitivity.None, $"Fine-tuning '{o.PretrainedModelPath}' ({config.ModelType}, {config.NumHiddenLayers} layers × {config.HiddenSize}, {maxLength} tokens per example).");
            return (config, tokenizer, maxLength);
        }
        // Counted during the scan over the first VocabularySampleRows training rows: no corpus in memory.
        var fitted = vocabulary!.Build(o.MaxVocabularySize);
        var cfg = o.ModelSize.Config(fitted.VocabSize);
        cfg.MaxPositionEmbeddings = Math.Max(o.MaxSequenceLength, 16);
        ch.Info(MessageSensitivity.None, $"Training a {o.ModelSize} encoder from scratch ({cfg.NumHiddenLayers} layers × {cfg.HiddenSize}, vocabulary of {fitted.VocabSize} fitted to the text of {vocabularyRows} training rows).");
        return (cfg, fitted, o.MaxSequenceLength);
    }

    /// <summary>The tokens per example: an explicit <see cref="GwtTextTrainerOptions.MaxSequenceLength"/> must fit the checkpoint's
    /// position table; the default is 128, or the table's length when that is shorter.</summary>
    internal static int ResolveMaxSequenceLength(GwtTextTrainerOptions o, TransformerConfig config, string folder)
    {
        if (!o.MaxSequenceLengthIsSet)
        {
            return Math.Min(o.MaxSequenceLength, config.MaxSequenceLength);
        }
        if (o.MaxSequenceLength > config.MaxSequenceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(o.MaxSequenceLength), o.MaxSequenceLength,
                $"MaxSequenceLength is {o.MaxSequenceLength} but the checkpoint '{folder}' has a position table for {config.MaxSequenceLength} tokens " +
                $"(max_position_embeddings {config.MaxPositionEmbeddings}{(config.PositionOffset > 0 ? $" minus {config.PositionOffset} reserved" : "")}); " +
                "set at most that, or leave it unset to use it.");
        }
        return o.MaxSequenceLength;
    }
}
