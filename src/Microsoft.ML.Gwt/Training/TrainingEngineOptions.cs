using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Training;

/// <summary>The task-agnostic settings of a run of <see cref="TrainingEngine{TBatch}"/> (each trainer maps its own
/// public options onto these).</summary>
internal sealed record TrainingEngineOptions
{
    /// <summary>Passes over the data.</summary>
    public required int MaxEpochs { get; init; }

    /// <summary>Peak learning rate of the linear warm-up/decay schedule.</summary>
    public required double PeakLearningRate { get; init; }

    /// <summary>Fraction of all steps spent warming up (see <see cref="LinearWarmupSchedule"/>).</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Micro-batches accumulated per optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Global gradient-norm clip; 0 disables clipping.</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>What a non-finite loss or gradient does.</summary>
    public NonFiniteStepAction NonFiniteStep { get; init; } = NonFiniteStepAction.Skip;

    /// <summary>Steps between mid-epoch checkpoints (0: epoch ends only); used when a checkpoint folder is given.</summary>
    public int CheckpointEverySteps { get; init; } = 100;

    /// <summary>Steps between training log lines.</summary>
    public int LogEverySteps { get; init; } = 10;

    /// <summary>Epochs without a better evaluation score before stopping (keeping the best epoch's weights); 0 disables.</summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Progress callback (after each step and each evaluation).</summary>
    public Action<GwtTrainingProgress>? Progress { get; init; }

    /// <summary>Cancels the run (checked before every micro-batch).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Test seams of this run (none by default).</summary>
    public TrainingEngineHooks Hooks { get; init; } = new();
}
