namespace Microsoft.ML.Gwt.Training;

/// <summary>The optimization options the classifier trainer and the pre-trainer share (batching, schedule, optimizer,
/// clipping, accumulation, checkpoints, logging), so that <see cref="OptionCheck.Optimization"/> validates them once.</summary>
internal interface IOptimizationOptions
{
    int BatchSize { get; }

    int MaxEpochs { get; }

    double? LearningRate { get; }

    double WarmupFraction { get; }

    double WeightDecay { get; }

    int GwtLevel { get; }

    double GwtAlpha { get; }

    double GradientClipNorm { get; }

    int GradientAccumulationSteps { get; }

    int CheckpointEverySteps { get; }

    int LogEverySteps { get; }
}
