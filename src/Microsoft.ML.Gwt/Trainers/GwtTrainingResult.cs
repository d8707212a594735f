namespace Microsoft.ML.Gwt.Trainers;

/// <summary>What a training run did: per-step losses, per-epoch validation, timing and memory.</summary>
public sealed class GwtTrainingResult
{
    /// <summary>Optimizer steps taken (including skipped non-finite ones).</summary>
    public long Steps { get; internal set; }

    /// <summary>Steps skipped because the loss or a gradient was not finite.</summary>
    public long SkippedSteps { get; internal set; }

    /// <summary>Training loss of every optimizer step, in order.</summary>
    public List<double> TrainingLoss { get; } = new();

    /// <summary>Validation loss after each epoch (sentence similarity: MSE; empty without a validation set).</summary>
    public List<double> ValidationLoss { get; } = new();

    /// <summary>The validation score (over the whole set) after each epoch: a classifier's accuracy, sentence
    /// similarity's Pearson correlation.</summary>
    public List<double> ValidationAccuracy { get; } = new();

    /// <summary>Best validation score (accuracy; Pearson correlation for sentence similarity), or null without a validation set.</summary>
    public double? BestValidationAccuracy { get; internal set; }

    /// <summary>Bytes of optimizer state (Adam moments) at the end.</summary>
    public long OptimizerStateBytes { get; internal set; }

    /// <summary>Wall time spent in the training loop (validation included).</summary>
    public TimeSpan TrainingTime { get; internal set; }

    /// <summary>Training examples processed per second (validation excluded).</summary>
    public double ExamplesPerSecond { get; internal set; }

    /// <summary>Whether early stopping ended the run (the model then holds the best epoch's weights).</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>Whether the run resumed from a checkpoint. A finished run started again is returned from its checkpoint
    /// without training: its losses, accuracies, <see cref="Steps"/> and <see cref="StoppedEarly"/> are the saved ones and
    /// <see cref="ExamplesPerSecond"/> is 0.</summary>
    public bool Resumed { get; internal set; }
}
