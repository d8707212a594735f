using System.Globalization;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Threading;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>One training run behind a text trainer's <c>Fit</c> (<see cref="GwtTextClassificationTrainer.Fit"/>,
/// <see cref="GwtSentenceSimilarityTrainer.Fit"/>): the shared options mapped onto the task-agnostic
/// <see cref="TrainingEngine{TBatch}"/> with the task's objective (<see cref="ClassificationObjective"/>,
/// <see cref="RegressionObjective"/>), the training rows streamed epoch by epoch through
/// <see cref="StreamedBatches{TRow, TExample}"/>.</summary>
internal sealed class TrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly GwtTextTrainerOptions _o;
    private readonly TextClassificationModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly Device _device;
    private readonly ScalarType _computeType;
    private readonly RunRandom _random;
    private readonly TextTable? _train;
    private readonly TextTable? _validation;
    private readonly int _prefetchBatches;

    public TrainingSession(IHost host, IChannel ch, GwtTextTrainerOptions options, TextClassificationModel model,
        TextTokenizer tokenizer, Device device, ScalarType computeType, RunRandom random, TextTable? train, TextTable? validation)
    {
        _host = host;
        _ch = ch;
        _o = options;
        _model = model;
        _tokenizer = tokenizer;
        _device = device;
        _computeType = computeType;
        _random = random;
        _train = train;
        _validation = validation;
        _prefetchBatches = StreamingSettings.ResolvePrefetch(options.PrefetchBatches, device.type == DeviceType.CUDA, Environment.ProcessorCount,
            torch.get_num_threads());
    }

    /// <summary>The engine's settings for the trainer's options.</summary>
    /// <param name="o">The trainer's options.</param>
    /// <param name="checkpointHiddenSize">The hidden size of the checkpoint being fine-tuned; null from scratch.</param>
    internal static TrainingEngineOptions EngineOptions(GwtTextTrainerOptions o, int? checkpointHiddenSize) => new()
    {
        MaxEpochs = o.MaxEpochs,
        PeakLearningRate = DefaultLearningRates.Classifier(o.LearningRate, checkpointHiddenSize),
        WarmupFraction = o.WarmupFraction,
        GradientAccumulationSteps = o.GradientAccumulationSteps,
        GradientClipNorm = o.GradientClipNorm,
        NonFiniteStep = o.NonFiniteStep,
        CheckpointEverySteps = o.CheckpointEverySteps,
        LogEverySteps = o.LogEverySteps,
        EarlyStoppingPatience = o.EarlyStoppingPatience,
        Progress = o.Progress,
        CancellationToken = o.CancellationToken,
        Hooks = o.EngineHooks,
    };

    /// <summary>The batching settings for the trainer's options and the producer's resolved queue length.</summary>
    internal static StreamingSettings Streaming(GwtTextTrainerOptions o, int prefetchBatches) =>
        new(o.BatchSize, o.ShuffleBufferSize, o.GroupByLength, o.LengthGroupingWindow, prefetchBatches);

    /// <summary>The objective of a task over its batches, given one pass over the validation set in scoring batches
    /// (null: no validation) and the cancellation check.</summary>
    public delegate ITrainingObjective<IReadOnlyList<(EncodedText Text, TLabel Label)>> ObjectiveFactory<TLabel>(
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, TLabel Label)>>>? validation, Action throwIfCancelled);

    /// <summary>The classifier's run: key labels, cross-entropy.</summary>
    public GwtTrainingResult Run() =>
        Run(row => row.Label, (validation, cancel) => new ClassificationObjective(_model, _tokenizer.PadId, _device, validation, cancel), task: null);

    /// <summary>Trains with the labels <paramref name="label"/> reads from each row and the task's
    /// <paramref name="objective"/>; <paramref name="task"/> names a task other than classification in the checkpoint
    /// fingerprint (null for the classifier, whose fingerprints predate it).</summary>
    /// <param name="label">The row's label.</param>
    /// <param name="objective">The task's objective.</param>
    /// <param name="task">The task's name in the fingerprint (null: the classifier).</param>
    /// <param name="encode">How a row becomes the model's input and its label; null: its text (pair) as the tokenizer
    /// encodes it with <paramref name="label"/> (a token classifier encodes its words and aligns its tags).</param>
    public GwtTrainingResult Run<TLabel>(Func<TextExample, TLabel> label, ObjectiveFactory<TLabel> objective, string? task,
        Func<TextExample, (EncodedText Text, TLabel Label)>? encode = null)
    {
        var train = _train ?? throw new InvalidOperationException("This session was created for examples in memory (RunInMemory).");
        bool sourceShuffling = train.UsesSourceShuffling(_o.ShuffleBufferSize);
        (EncodedText Text, TLabel Label) Encode(TextExample row) => encode is null ? (EncodeText(row), label(row)) : encode(row);
        var taskObjective = objective(ValidationBatches(Encode), () => MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken));
        var seeds = _random.Seeds;
        var data = new StreamedBatches<TextExample, (EncodedText Text, TLabel Label)>(
            epoch => train.Rows(sourceShuffling ? new Random(seeds.SourceShuffle(epoch)) : null), Encode, e => e.Text.Ids.Length,
            train.Scan.Rows, Streaming(_o, _prefetchBatches), seeds.Seed);
        _ch.Info(MessageSensitivity.None, $"Training data: {train.Scan.Rows} rows{(train.Scan.RowCountReported ? " (as the data reports them: no counting pass)" : "")}, {(train.Scan.Cache is null ? "streamed each epoch" : "held in memory")}" +
            $", shuffle pool {_o.ShuffleBufferSize} rows{(sourceShuffling ? " after the source's shuffling cursor" : "")}" +
            $", {(_o.GroupByLength ? $"grouped by length in windows of {_o.LengthGroupingWindow} batches" : "not grouped by length")}" +
            $", {(_prefetchBatches > 0 ? $"{_prefetchBatches} batches prefetched on a producer thread" : "no prefetching")}" +
            $"{(_o.PrefetchBatches is null ? $" (chosen for {Environment.ProcessorCount} logical processors, {torch.get_num_threads()} TorchSharp threads, {_device.type})" : "")}.");
        return Optimize(taskObjective, data, train.Scan, _validation?.Scan, sourceShuffling, task);
    }

    /// <summary>Trains on examples already encoded and held in memory (a task whose rows become several examples, such as
    /// question answering's context windows), shuffled and batched as rows are; <paramref name="trainScan"/> and
    /// <paramref name="validationScan"/> give the checkpoint fingerprint its data fields.</summary>
    public GwtTrainingResult RunInMemory<TExample>(IReadOnlyList<TExample> examples, Func<TExample, int> length,
        ITrainingObjective<IReadOnlyList<TExample>> objective, TextDataScan trainScan, TextDataScan? validationScan, string task)
    {
        var seeds = _random.Seeds;
        var data = new StreamedBatches<TExample, TExample>(_ => examples, e => e, length, examples.Count, Streaming(_o, _prefetchBatches), seeds.Seed);
        _ch.Info(MessageSensitivity.None, $"Training data: {examples.Count} examples held in memory, shuffle pool {_o.ShuffleBufferSize}" +
            $", {(_o.GroupByLength ? $"grouped by length in windows of {_o.LengthGroupingWindow} batches" : "not grouped by length")}.");
        return Optimize(objective, data, trainScan, validationScan, sourceShuffling: false, task);
    }

    /// <summary>The run itself: the optimizer over the model's parameters, the checkpoint folder with the run's
    /// fingerprint, and the engine over the task's objective and batches.</summary>
    private GwtTrainingResult Optimize<TBatch>(ITrainingObjective<TBatch> taskObjective, IBatchStream<TBatch> data, TextDataScan trainScan,
        TextDataScan? validationScan, bool sourceShuffling, string? task)
    {
        int? checkpointHiddenSize = _o.PretrainedModelPath is null ? null : _model.Encoder.Config.HiddenSize;
        var engineOptions = EngineOptions(_o, checkpointHiddenSize);
        _ch.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture, $"Learning rate {engineOptions.PeakLearningRate:G3}") + (_o.LearningRate is not null ? " (set)."
            : checkpointHiddenSize is int hidden ? string.Create(CultureInfo.InvariantCulture,
                $" (the default for a checkpoint of hidden size {hidden}: 5e-5 · {DefaultLearningRates.FineTuningReferenceHiddenSize} / {hidden}, kept within [{DefaultLearningRates.FineTuningMinimum:G3}, {DefaultLearningRates.FromScratch:G3}]).")
            : " (the default from scratch)."));
        // The precision policy casts the model's parameters, so it comes before the optimizer is created over them.
        using var precision = new PrecisionTraining(_model, _computeType);
        using var optimizer = GwtAdam.Create(_model.named_parameters(), new GwtAdamOptions
        {
            LearningRate = engineOptions.PeakLearningRate, WeightDecay = _o.WeightDecay, Level = _o.GwtLevel, Alpha = _o.GwtAlpha,
            NormGrowthLimiter = _o.GwtNormGrowthLimiter,
        }, _o.ResolveTargetSelector(), out var targets);
        var checkpoints = _o.CheckpointFolder is null ? null : new TrainingCheckpoint(_o.CheckpointFolder,
            ClassifierFingerprint.Of(_o, _random.Seed, _model.NumClasses, engineOptions.PeakLearningRate, targets, trainScan, validationScan, sourceShuffling,
                precision.ComputeType, task));
        var engine = new TrainingEngine<TBatch>(_host, _ch, engineOptions, taskObjective, data,
            optimizer, _random, checkpoints, _device, precision);
        return engine.Run();
    }

    private EncodedText EncodeText(TextExample row) => _tokenizer.Encode(row.First, row.Second, _o.MaxSequenceLength);

    /// <summary>One pass over the validation set in scoring batches, tokenized on the producer thread.</summary>
    private Func<IEnumerable<IReadOnlyList<(EncodedText Text, TLabel Label)>>>? ValidationBatches<TLabel>(Func<TextExample, (EncodedText Text, TLabel Label)> encode)
    {
        if (_validation is not { Scan.Rows: > 0 } validation)
        {
            return null;
        }
        return () => Prefetcher.Run(validation.Rows().Chunk(_o.ScoringBatchSize)
            .Select(chunk => (IReadOnlyList<(EncodedText Text, TLabel Label)>)chunk.Select(encode).ToArray()), _prefetchBatches);
    }
}
