using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>One classifier training run behind <see cref="GwtTextClassificationTrainer.Fit"/>: the trainer's options mapped
/// onto the task-agnostic <see cref="TrainingEngine{TBatch}"/> with a <see cref="ClassificationObjective"/>.</summary>
internal sealed class TrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly GwtTextClassificationTrainer.Options _o;
    private readonly TextClassificationModel _model;
    private readonly Device _device;
    private readonly RunRandom _random;
    private readonly List<(EncodedText Text, int Label)> _train;
    private readonly List<(EncodedText Text, int Label)>? _validation;
    private readonly int _padId;

    public TrainingSession(IHost host, IChannel ch, GwtTextClassificationTrainer.Options options, TextClassificationModel model,
        TextTokenizer tokenizer, Device device, RunRandom random, List<TextExample> train, List<TextExample>? validation)
    {
        _host = host;
        _ch = ch;
        _o = options;
        _model = model;
        _device = device;
        _random = random;
        _padId = tokenizer.PadId;
        _train = train.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
        _validation = validation?.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
    }

    /// <summary>The engine's settings for the trainer's options.</summary>
    internal static TrainingEngineOptions EngineOptions(GwtTextClassificationTrainer.Options o) => new()
    {
        MaxEpochs = o.MaxEpochs,
        PeakLearningRate = o.LearningRate ?? (o.PretrainedModelPath is null ? 5e-4 : 5e-5),
        WarmupFraction = o.WarmupFraction,
        GradientAccumulationSteps = o.GradientAccumulationSteps,
        GradientClipNorm = o.GradientClipNorm,
        NonFiniteStep = o.NonFiniteStep,
        CheckpointEverySteps = o.CheckpointEverySteps,
        LogEverySteps = o.LogEverySteps,
        EarlyStoppingPatience = o.EarlyStoppingPatience,
        Progress = o.Progress,
        CancellationToken = o.CancellationToken,
    };

    public GwtTrainingResult Run()
    {
        var engineOptions = EngineOptions(_o);
        // The precision policy casts the model's parameters, so it comes before the optimizer is created over them.
        using var precision = new PrecisionTraining(_model, PrecisionHardware.Resolve(_o.Precision, _device, nameof(_o.Precision)));
        using var optimizer = OptimizerGroups.Create(_model, _o.ResolveTargetSelector(), new GwtAdamOptions
        {
            LearningRate = engineOptions.PeakLearningRate, WeightDecay = _o.WeightDecay, Level = _o.GwtLevel, Alpha = _o.GwtAlpha,
            NormGrowthLimiter = _o.GwtNormGrowthLimiter,
        }, out var targets);
        var checkpoints = _o.CheckpointFolder is null ? null : new TrainingCheckpoint(_o.CheckpointFolder,
            ClassifierFingerprint.Of(_o, _random.Seed, _model.NumClasses, engineOptions.PeakLearningRate, targets, _train, _validation, precision.ComputeType));
        var objective = new ClassificationObjective(_model, _padId, _device, _validation, _o.ScoringBatchSize,
            () => MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken));
        var data = new InMemoryBatches<(EncodedText Text, int Label)>(_train, _o.BatchSize, _random);
        var engine = new TrainingEngine<IReadOnlyList<(EncodedText Text, int Label)>>(_host, _ch, engineOptions, objective, data,
            optimizer, _random, checkpoints, _device, precision);
        return engine.Run();
    }
}
