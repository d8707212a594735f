namespace Microsoft.ML.Gwt.Training;

/// <summary>Where a run stands: the next epoch and batch to train, steps taken, early-stopping state, whether the run
/// has finished (and whether early stopping ended it), and history. <see cref="Batch"/> is a position in the epoch's
/// batch stream: the batches of epoch <see cref="Epoch"/> already trained (a resumed run replays the epoch's stream up to
/// there without training on it). <see cref="BestAccuracy"/> is the best epoch's evaluation score (higher is better; the
/// classifier's validation accuracy).</summary>
internal sealed record TrainingPosition
{
    public int Epoch { get; init; }
    public int Batch { get; init; }
    public long Step { get; init; }
    public double BestAccuracy { get; init; } = -1;
    public int BestEpoch { get; init; } = -1;
    public long SkippedSteps { get; init; }
    public bool Finished { get; init; }
    public bool StoppedEarly { get; init; }
    public double[] TrainingLoss { get; init; } = Array.Empty<double>();
    public double[] ValidationLoss { get; init; } = Array.Empty<double>();
    public double[] ValidationAccuracy { get; init; } = Array.Empty<double>();

    /// <summary>Float16 runs: the loss scale, its overflow-free steps in a row and its skipped steps (0 otherwise).</summary>
    public double LossScale { get; init; }

    /// <summary>See <see cref="LossScale"/>.</summary>
    public int LossScaleGoodSteps { get; init; }

    /// <summary>See <see cref="LossScale"/>.</summary>
    public long LossScaleSkippedSteps { get; init; }
}
