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

/// <summary>One classifier training run behind <see cref="GwtTextClassificationTrainer.Fit"/>: the trainer's options mapped
/// onto the task-agnostic <see cref="TrainingEngine{TBatch}"/> with a <see cref="ClassificationObjective"/>, the training
/// rows streamed epoch by epoch through <see cref="StreamedBatches{TRow, TExample}"/>.</summary>
internal sealed class TrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly GwtTextClassificationTrainer.Options _o;
    private readonly TextClassificationModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly Device _device;
    private readonly ScalarType _computeType;
    private readonly RunRandom _random;
    private readonly TextTable _train;
    private readonly TextTable? _validation;
    private readonly int _prefetchBatches;

    public TrainingSession(IHost host, IChannel ch, GwtTextClassificationTrainer.Options options, TextClassificationModel model,
        TextTokenizer tokenizer, Device device, ScalarType computeType, RunRandom random, TextTable train, TextTable? validation)
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
    internal static TrainingEngineOptions EngineOptions(GwtTextClassificationTrainer.Options o, int? checkpointHiddenSize) => new()
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
    internal static StreamingSettings Streaming(GwtTextClassificationTrainer.Options o, int prefetchBatches) =>
        new(o.BatchSize, o.ShuffleBufferSize, o.GroupByLength, o.LengthGroupingWindow, prefetchBatches);

    public GwtTrainingResult Run()
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
        bool sourceShuffling = _train.UsesSourceShuffling(_o.ShuffleBufferSize);
        var checkpoints = _o.CheckpointFolder is null ? null : new TrainingCheckpoint(_o.CheckpointFolder,
            ClassifierFingerprint.Of(_o, _random.Seed, _model.NumClasses, engineOptions.PeakLearningRate, targets, _train.Scan, _validation?.Scan, sourceShuffling,
                precision.ComputeType));
        var objective = new ClassificationObjective(_model, _tokenizer.PadId, _device, ValidationBatches(),
            () => MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken));
        var seeds = _random.Seeds;
        var data = new StreamedBatches<TextExample, (EncodedText Text, int Label)>(
            epoch => _train.Rows(sourceShuffling ? new Random(seeds.SourceShuffle(epoch)) : null), Encode, e => e.Text.Ids.Length,
            _train.Scan.Rows, Streaming(_o, _prefetchBatches), seeds.Seed);
        _ch.Info(MessageSensitivity.None, $"Training data: {_train.Scan.Rows} rows{(_train.Scan.RowCountReported ? " (as the data reports them: no counting pass)" : "")}, {(_train.Scan.Cache is null ? "streamed each epoch" : "held in memory")}" +
            $", shuffle pool {_o.ShuffleBufferSize} rows{(sourceShuffling ? " after the source's shuffling cursor" : "")}" +
            $", {(_o.GroupByLength ? $"grouped by length in windows of {_o.LengthGroupingWindow} batches" : "not grouped by length")}" +
            $", {(_prefetchBatches > 0 ? $"{_prefetchBatches} batches prefetched on a producer thread" : "no prefetching")}" +
            $"{(_o.PrefetchBatches is null ? $" (chosen for {Environment.ProcessorCount} logical processors, {torch.get_num_threads()} TorchSharp threads, {_device.type})" : "")}.");
        var engine = new TrainingEngine<IReadOnlyList<(EncodedText Text, int Label)>>(_host, _ch, engineOptions, objective, data,
            optimizer, _random, checkpoints, _device, precision);
        return engine.Run();
    }

    private (EncodedText Text, int Label) Encode(TextExample row) => (_tokenizer.Encode(row.First, row.Second, _o.MaxSequenceLength), row.Label);

    /// <summary>One pass over the validation set in scoring batches, tokenized on the producer thread.</summary>
    private Func<IEnumerable<IReadOnlyList<(EncodedText Text, int Label)>>>? ValidationBatches()
    {
        if (_validation is not { Scan.Rows: > 0 } validation)
        {
            return null;
        }
        return () => Prefetcher.Run(validation.Rows().Chunk(_o.ScoringBatchSize)
            .Select(chunk => (IReadOnlyList<(EncodedText Text, int Label)>)chunk.Select(Encode).ToArray()), _prefetchBatches);
    }
}
