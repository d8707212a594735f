using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Optim;
using TorchSharp.Modules;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>The optimizer the trainer uses.</summary>
public enum GwtOptimizerKind
{
    /// <summary>GWT-compressed Adam (<see cref="GwtAdam"/>): the encoder's Linear weights keep 1/2^l of Adam's state.</summary>
    Gwt,

    /// <summary>Plain AdamW (the same optimizer with no parameter compressed), for comparison.</summary>
    AdamW,
}

/// <summary>Where training and scoring run.</summary>
public enum GwtDevice
{
    /// <summary>CUDA when TorchSharp reports it (a CUDA backend package is referenced and a GPU is present), else CPU.</summary>
    Auto,

    /// <summary>CPU.</summary>
    Cpu,

    /// <summary>CUDA; an error when TorchSharp has no CUDA.</summary>
    Cuda,
}

/// <summary>Encoder sizes for training from scratch (no checkpoint).</summary>
public enum GwtModelSize
{
    /// <summary><see cref="Core.Modeling.TransformerConfig.Tiny"/>: 2 layers × 128 hidden, 2 heads, 512 feed-forward.</summary>
    Tiny,

    /// <summary><see cref="Core.Modeling.TransformerConfig.Small"/>: 4 layers × 256 hidden, 4 heads, 1024 feed-forward.</summary>
    Small,

    /// <summary><see cref="Core.Modeling.TransformerConfig.Base"/>: 12 layers × 768 hidden (BERT-base shape).</summary>
    Base,
}

/// <summary>What to do when a step's loss or gradients are not finite.</summary>
public enum NonFiniteStepAction
{
    /// <summary>Skip the step (the optimizer state is untouched) and log a warning with the step number.</summary>
    Skip,

    /// <summary>Throw an <see cref="InvalidOperationException"/>.</summary>
    Throw,
}

/// <summary>A progress report the trainer raises after each optimizer step and each validation.</summary>
/// <param name="Epoch">Epoch (1-based).</param>
/// <param name="Step">Optimizer steps taken so far.</param>
/// <param name="TotalSteps">Optimizer steps the run will take.</param>
/// <param name="Loss">Mean training loss over the last step's batch(es).</param>
/// <param name="LearningRate">The learning rate of the step.</param>
/// <param name="ExamplesPerSecond">Training throughput since the start of the epoch.</param>
/// <param name="ValidationLoss">Validation loss (sentence similarity: MSE), on validation reports only.</param>
/// <param name="ValidationAccuracy">The validation score over the whole validation set, on validation reports only: a
/// classifier's accuracy, sentence similarity's Pearson correlation.</param>
public sealed record GwtTrainingProgress(int Epoch, long Step, long TotalSteps, double Loss, double LearningRate,
    double ExamplesPerSecond, double? ValidationLoss = null, double? ValidationAccuracy = null);

public sealed partial class GwtTextClassificationTrainer
{
    /// <summary>Options of <see cref="GwtTextClassificationTrainer"/>.</summary>
    public sealed class Options : GwtTextTrainerOptions
    {
        /// <summary>The label column: a key type (use <c>MapValueToKey</c> first). Default "Label".</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The output score column: a vector of class probabilities. Default "Score".</summary>
        public string ScoreColumnName { get; set; } = "Score";

        /// <summary>The output predicted-label column (a key with the label's values). Default "PredictedLabel".</summary>
        public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

        /// <summary>A copy with the sequence length resolved for a run.</summary>
        internal new Options WithMaxSequenceLength(int maxSequenceLength) => (Options)base.WithMaxSequenceLength(maxSequenceLength);

        internal override void Validate()
        {
            OptionCheck.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "a column name");
            OptionCheck.Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "a column name");
            OptionCheck.Require(!string.IsNullOrWhiteSpace(PredictedLabelColumnName), nameof(PredictedLabelColumnName), PredictedLabelColumnName, "a column name");
            base.Validate();
        }
    }
}
