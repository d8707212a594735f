using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// The peak learning rates a run uses when its options set none: the one place they are decided. The classifier
/// (<see cref="GwtTextClassificationTrainer"/>) and the pre-trainer (<see cref="Pretraining.GwtPretrainingOptions"/>,
/// whose public presets are these constants) read them here, and bench/SampleComparison compiles this file to report the
/// rate a run used.
/// </summary>
/// <remarks>Depends on nothing but <see cref="GwtOptimizerKind"/>, so that a program outside the library can compile it.</remarks>
internal static class DefaultLearningRates
{
    /// <summary>Fine-tuning a pre-trained checkpoint: 5e-5, BERT's fine-tuning range and Hugging Face's Trainer default.</summary>
    public const double FineTuning = 5e-5;

    /// <summary>Training a classifier's encoder from scratch: 5e-4 (a new small encoder needs a larger step).</summary>
    public const double FromScratch = 5e-4;

    /// <summary>Pre-training with GWT: 1e-2, the reference code's pre-training scripts (zqOuO/GWT,
    /// scripts/benchmark_c4/*.sh: <c>lr=1e-2</c>).</summary>
    public const double GwtPretraining = 1e-2;

    /// <summary>Pre-training with AdamW: 1e-3, the full-Adam baseline of the low-rank pre-training papers GWT compares
    /// with (GaLore's LLaMA-on-C4 runs).</summary>
    public const double AdamWPretraining = 1e-3;

    /// <summary>The classifier's rate: <paramref name="set"/>, else <see cref="FineTuning"/> from a checkpoint and
    /// <see cref="FromScratch"/> without one.</summary>
    public static double Classifier(double? set, bool fromCheckpoint) => set ?? (fromCheckpoint ? FineTuning : FromScratch);

    /// <summary>The pre-trainer's rate: <paramref name="set"/>, else <see cref="GwtPretraining"/> with GWT and
    /// <see cref="AdamWPretraining"/> with AdamW.</summary>
    public static double Pretraining(double? set, GwtOptimizerKind optimizer) =>
        set ?? (optimizer == GwtOptimizerKind.Gwt ? GwtPretraining : AdamWPretraining);
}
