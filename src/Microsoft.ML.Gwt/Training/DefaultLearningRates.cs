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
    /// <summary>Fine-tuning a BERT-base-sized checkpoint (hidden size <see cref="FineTuningReferenceHiddenSize"/>): 5e-5,
    /// BERT's fine-tuning range and Hugging Face's Trainer default. Other widths scale it: <see cref="FineTuningFor"/>.</summary>
    public const double FineTuning = 5e-5;

    /// <summary>The hidden size <see cref="FineTuning"/> is the rate of: 768 (BERT-base).</summary>
    public const int FineTuningReferenceHiddenSize = 768;

    /// <summary>The smallest checkpoint default: 1e-5.</summary>
    public const double FineTuningMinimum = 1e-5;

    /// <summary>
    /// Fine-tuning a checkpoint whose encoder is <paramref name="hiddenSize"/> wide:
    /// <c>5e-5 · 768 / hiddenSize</c>, kept within [<see cref="FineTuningMinimum"/>, <see cref="FromScratch"/>]. Adam's
    /// update of a hidden weight moves each output by about lr × fan-in, so the rate that keeps that move the same
    /// shrinks as 1/width (μP's rule for Adam); BERT-base's 5e-5 anchors it. 128 wide (our Tiny, 2 layers) gets 3e-4,
    /// 256 (Small) 1.5e-4, 384 (MiniLM, 6 layers) 1e-4, 768 (BERT-base, 12 layers) 5e-5, 1024 (BERT-large) 3.75e-5;
    /// 64 or narrower is capped at the from-scratch rate 5e-4. A Tiny pre-trained encoder fine-tuned at the old
    /// size-blind 5e-5 stayed at chance (issue 27); at this default it beats the same Tiny from scratch (test).
    /// </summary>
    public static double FineTuningFor(int hiddenSize)
    {
        if (hiddenSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The hidden size must be > 0.");
        }
        // Rounded to 10 decimal places: 5e-5 · 768 / 128 is 3.0000000000000003e-4 in binary; the rate is 3e-4.
        return Math.Round(Math.Clamp(FineTuning * FineTuningReferenceHiddenSize / hiddenSize, FineTuningMinimum, FromScratch), 10);
    }

    /// <summary>Training a classifier's encoder from scratch: 5e-4 (a new small encoder needs a larger step).</summary>
    public const double FromScratch = 5e-4;

    /// <summary>Pre-training with GWT: 1e-2, the reference code's pre-training scripts (zqOuO/GWT,
    /// scripts/benchmark_c4/*.sh: <c>lr=1e-2</c>).</summary>
    public const double GwtPretraining = 1e-2;

    /// <summary>Pre-training with AdamW: 1e-3, the full-Adam baseline of the low-rank pre-training papers GWT compares
    /// with (GaLore's LLaMA-on-C4 runs).</summary>
    public const double AdamWPretraining = 1e-3;

    /// <summary>The classifier's rate: <paramref name="set"/>, else <see cref="FineTuningFor"/> the checkpoint's hidden
    /// size (<paramref name="checkpointHiddenSize"/>) when fine-tuning one, and <see cref="FromScratch"/> without one (null).</summary>
    public static double Classifier(double? set, int? checkpointHiddenSize) =>
        set ?? (checkpointHiddenSize is int hidden ? FineTuningFor(hidden) : FromScratch);

    /// <summary>The pre-trainer's rate of the parameters GWT does not compress (embeddings and the tied decoder,
    /// LayerNorms, biases, the MLM head's transform): <paramref name="set"/>, else with GWT <see cref="AdamWPretraining"/>,
    /// the rate AdamW pre-training gives the same parameters (the reference code's 1e-2 for them trailed AdamW by 3.2%
    /// in held-out MLM loss; README, Pre-training); with AdamW every parameter gets <paramref name="learningRate"/>.</summary>
    public static double PretrainingNonTarget(double? set, GwtOptimizerKind optimizer, double learningRate) =>
        optimizer == GwtOptimizerKind.Gwt ? set ?? AdamWPretraining : learningRate;

    /// <summary>The pre-trainer's rate: <paramref name="set"/>, else <see cref="GwtPretraining"/> with GWT and
    /// <see cref="AdamWPretraining"/> with AdamW.</summary>
    public static double Pretraining(double? set, GwtOptimizerKind optimizer) =>
        set ?? (optimizer == GwtOptimizerKind.Gwt ? GwtPretraining : AdamWPretraining);
}
