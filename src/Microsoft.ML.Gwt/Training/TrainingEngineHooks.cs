using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>Test hook argument: an optimizer step about to be applied (gradients accumulated and clipped).</summary>
/// <param name="Step">The step's index (0-based).</param>
/// <param name="LearningRate">The learning rate the step uses.</param>
/// <param name="Rows">Training rows in the step (over all its micro-batches).</param>
/// <param name="GradientNorm">The global gradient norm before clipping.</param>
/// <param name="Model">The model, with its gradients.</param>
internal sealed record OptimizerStepInfo(long Step, double LearningRate, int Rows, double GradientNorm, nn.Module Model);

/// <summary>Test hook argument: an epoch's evaluation (the classifier's: validation loss and accuracy).</summary>
internal sealed record ValidationInfo(int Epoch, double Loss, double Accuracy, nn.Module Model);

/// <summary>Test seams of one run of <see cref="TrainingEngine{TBatch}"/>: callbacks of that run only (set through the
/// trainer's internal <c>EngineHooks</c> option), so that runs in one process never see each other's hooks. None is
/// called while the run holds TorchSharp's generator (<see cref="RunRandom"/>), so a hook may wait for another run.</summary>
internal sealed record TrainingEngineHooks
{
    /// <summary>A step number (1-based) for which the loss is made NaN.</summary>
    public Func<long, bool>? PoisonStep { get; init; }

    /// <summary>Called after every optimizer step (taken or skipped) with its number (1-based) and the optimizer.</summary>
    public Action<long, GwtAdam>? AfterStep { get; init; }

    /// <summary>Called before each optimizer step is applied.</summary>
    public Action<OptimizerStepInfo>? BeforeOptimizerStep { get; init; }

    /// <summary>Called after each epoch's evaluation.</summary>
    public Action<ValidationInfo>? AfterValidation { get; init; }
}
