using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>A progress report of pre-training, raised after each optimizer step and each held-out evaluation.</summary>
/// <param name="Epoch">Epoch (1-based).</param>
/// <param name="Step">Optimizer steps taken so far.</param>
/// <param name="TotalSteps">Optimizer steps the run will take.</param>
/// <param name="Loss">Mean masked-language-model loss of the last step.</param>
/// <param name="LearningRate">The learning rate of the step.</param>
/// <param name="SequencesPerSecond">Packed sequences per second since the start of the epoch.</param>
/// <param name="ValidationLoss">Held-out masked-language-model loss, on evaluation reports only.</param>
public sealed record GwtPretrainingProgress(int Epoch, long Step, long TotalSteps, double Loss, double LearningRate,
    double SequencesPerSecond, double? ValidationLoss = null);

/// <summary>
/// Options of masked-language-model pre-training (<see cref="GwtPretrainer"/>). The defaults are the GWT paper's
/// pre-training settings (level 2, alpha 0.25, learning rate 0.01, no weight decay: the reference code's C4 scripts) for
/// the weights GWT compresses, AdamW's 1e-3 for the others (<see cref="NonTargetLearningRate"/>), on a from-scratch
/// BERT-layout encoder with a WordPiece vocabulary fitted to the text.
/// </summary>
public sealed class GwtPretrainingOptions : IOptimizationOptions
{
    /// <summary>The learning rate of the reference code's pre-training scripts (zqOuO/GWT, scripts/benchmark_c4/*.sh: <c>lr=1e-2</c>).</summary>
    public const double GwtPresetLearningRate = DefaultLearningRates.GwtPretraining;

    /// <summary>The alpha (update scale) of the reference code's pre-training scripts (<c>scale=2.5e-1</c>).</summary>
    public const double GwtPresetAlpha = 0.25;

    /// <summary>The learning rate used with <see cref="GwtOptimizerKind.AdamW"/> when none is set: 1e-3, the full-Adam
    /// baseline of the low-rank pre-training papers GWT compares with (GaLore's LLaMA-on-C4 runs).</summary>
    public const double AdamWDefaultLearningRate = DefaultLearningRates.AdamWPretraining;

    /// <summary>The text column (String). Default "Text".</summary>
    public string TextColumnName { get; set; } = "Text";

    /// <summary>The folder the pre-trained model is written to as a Hugging Face checkpoint (replaced if it exists).
    /// Required.</summary>
    public string? OutputFolder { get; set; }

    /// <summary>A Hugging Face checkpoint folder (BERT, RoBERTa, XLM-RoBERTa or CamemBERT) to continue pre-training
    /// from (domain-adaptive pre-training): its config, weights (an MLM head too, when it has one) and tokenizer are
    /// used, and <see cref="ModelSize"/>, <see cref="TokenizerPath"/> and <see cref="VocabularySize"/> are ignored.
    /// Default null: a new encoder of <see cref="ModelSize"/>.</summary>
    public string? ContinueFrom { get; set; }

    /// <summary>Encoder size of a new model (BERT layout). Default <see cref="GwtModelSize.Tiny"/>.</summary>
    public GwtModelSize ModelSize { get; set; } = GwtModelSize.Tiny;

    /// <summary>A folder with tokenizer files (as <c>PretrainedModelPath</c> reads them: <c>tokenizer.json</c>,
    /// <c>vocab.txt</c>, ...) for a new model; it must have a mask token. Default null: a WordPiece vocabulary of
    /// <see cref="VocabularySize"/> is fitted to the training text (one extra pass over it).</summary>
    public string? TokenizerPath { get; set; }

    /// <summary>Size of the fitted WordPiece vocabulary, special tokens included. Default 8192.</summary>
    public int VocabularySize { get; set; } = 8192;

    /// <summary>Whether the fitted vocabulary lowercases and strips accents (BERT uncased). Default true.</summary>
    public bool LowerCase { get; set; } = true;

    /// <summary>Tokens per packed sequence: consecutive texts are packed into sequences of this length. Default 128.</summary>
    public int MaxSequenceLength { get; set; } = 128;

    /// <summary>Fraction of each sequence's tokens chosen for prediction. Default 0.15.</summary>
    public double MaskProbability { get; set; } = 0.15;

    /// <summary>Choose whole words (a token and its continuation pieces) instead of single tokens. Default false.</summary>
    public bool WholeWordMasking { get; set; }

    /// <summary>Packed sequences per batch. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Passes over the data (masks are drawn anew each epoch). Default 3.</summary>
    public int MaxEpochs { get; set; } = 3;

    /// <summary>Packed sequences in the shuffle buffer of each epoch (seeded per epoch). Default 1024.</summary>
    public int ShuffleBufferSize { get; set; } = 1024;

    /// <summary>Text to measure the held-out masked-language-model loss on after each epoch (masks fixed by the seed, so
    /// epochs and runs compare). Default null.</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>The optimizer. Default <see cref="GwtOptimizerKind.Gwt"/>.</summary>
    public GwtOptimizerKind Optimizer { get; set; } = GwtOptimizerKind.Gwt;

    /// <summary>Peak learning rate (linear warm-up, then linear decay to 0) of the weights GWT compresses, and with AdamW
    /// of every parameter (GWT's other parameters: <see cref="NonTargetLearningRate"/>). Default
    /// <see cref="GwtPresetLearningRate"/> with GWT and <see cref="AdamWDefaultLearningRate"/> with AdamW.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Peak learning rate of the parameters GWT does not compress when <see cref="Optimizer"/> is GWT: the
    /// word, position and type embeddings (which the MLM decoder is tied to), the decoder's bias, LayerNorms, biases and
    /// the MLM head's transform, all trained by plain AdamW. They follow the same warm-up and decay. Default
    /// <see cref="AdamWDefaultLearningRate"/> (1e-3): what AdamW pre-training gives the same parameters. The reference
    /// code's LLaMA scripts give them the GWT rate (1e-2); in this post-LayerNorm BERT with the decoder tied to the
    /// embeddings that trailed AdamW (held-out MLM loss 6.702 against AdamW's 6.494; with 1e-3, 6.476: README,
    /// Pre-training). Ignored with AdamW, where every parameter gets <see cref="LearningRate"/>.</summary>
    public double? NonTargetLearningRate { get; set; }

    /// <summary>Fraction of the steps spent warming up. Default 0.1 (the reference scripts' 1,000 of 10,000 steps).</summary>
    public double WarmupFraction { get; set; } = 0.1;

    /// <summary>Decoupled weight decay of weight matrices. Default 0 (the reference scripts' <c>--weight_decay 0</c>).</summary>
    public double WeightDecay { get; set; }

    /// <summary>Haar levels of GWT. Default 2 (the paper's pre-training setting).</summary>
    public int GwtLevel { get; set; } = 2;

    /// <summary>Scale of the GWT update. Default <see cref="GwtPresetAlpha"/>.</summary>
    public double GwtAlpha { get; set; } = GwtPresetAlpha;

    /// <summary>The Fira norm-growth limiter of the GWT reference. Default true.</summary>
    public bool GwtNormGrowthLimiter { get; set; } = true;

    /// <summary>Which parameters GWT compresses. Default <see cref="GwtTargets.EncoderLinearWeights"/>.</summary>
    public Func<string, Parameter, bool>? GwtTargetSelector { get; set; }

    /// <summary>Clip the global gradient norm to this value; 0 disables clipping. Default 1.</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>Batches accumulated per optimizer step. Default 1.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Device. Default <see cref="GwtDevice.Auto"/>.</summary>
    public GwtDevice Device { get; set; } = GwtDevice.Auto;

    /// <summary>Seed of initialization, shuffling, masking and dropout. Default: drawn from the MLContext's seed.</summary>
    public int? Seed { get; set; }

    /// <summary>A folder for resumable pre-training (the fine-tuning trainer's checkpoint mechanism): a run started
    /// again with the same data and options resumes there and ends with the same weights. Default null.</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Optimizer steps between checkpoints; 0 writes only at epoch ends. Default 100.</summary>
    public int CheckpointEverySteps { get; set; } = 100;

    /// <summary>What to do with a non-finite loss or gradient. Default <see cref="NonFiniteStepAction.Skip"/>.</summary>
    public NonFiniteStepAction NonFiniteStep { get; set; } = NonFiniteStepAction.Skip;

    /// <summary>Log a training line every this many steps. Default 10.</summary>
    public int LogEverySteps { get; set; } = 10;

    /// <summary>Called after each optimizer step and each evaluation. Not part of the run's fingerprint.</summary>
    public Action<GwtPretrainingProgress>? Progress { get; set; }

    /// <summary>Cancels the run before its next batch (<see cref="OperationCanceledException"/>).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>The learning rate a run uses.</summary>
    internal double ResolvedLearningRate => DefaultLearningRates.Pretraining(LearningRate, Optimizer);

    /// <summary>The peak learning rate of the parameters GWT does not compress (with AdamW, <see cref="ResolvedLearningRate"/>).</summary>
    internal double ResolvedNonTargetLearningRate => DefaultLearningRates.PretrainingNonTarget(NonTargetLearningRate, Optimizer, ResolvedLearningRate);

    /// <summary>The parameters GWT compresses (none with AdamW).</summary>
    internal Func<string, Parameter, bool> ResolveTargetSelector() => GwtTargets.Resolve(Optimizer, GwtTargetSelector);

    /// <summary>Checks every option; the exception names the first bad one.</summary>
    internal void Validate()
    {
        OptionCheck.Require(!string.IsNullOrWhiteSpace(TextColumnName), nameof(TextColumnName), TextColumnName, "a column name");
        OptionCheck.Require(!string.IsNullOrWhiteSpace(OutputFolder), nameof(OutputFolder), OutputFolder, "a folder to write the checkpoint to");
        OptionCheck.Require(VocabularySize > 16, nameof(VocabularySize), VocabularySize, "> 16");
        OptionCheck.Require(MaxSequenceLength >= 8, nameof(MaxSequenceLength), MaxSequenceLength, ">= 8");
        OptionCheck.Require(MaskProbability is > 0 and < 1, nameof(MaskProbability), MaskProbability, "in (0, 1)");
        OptionCheck.Optimization(this);
        OptionCheck.Require(NonTargetLearningRate is null || (NonTargetLearningRate > 0 && double.IsFinite(NonTargetLearningRate.Value)),
            nameof(NonTargetLearningRate), NonTargetLearningRate, "a finite number > 0");
        OptionCheck.Require(ShuffleBufferSize > 0, nameof(ShuffleBufferSize), ShuffleBufferSize, "> 0");
        if (CheckpointFolder is not null && OutputFolder is not null &&
            Path.GetFullPath(CheckpointFolder).TrimEnd('/') == Path.GetFullPath(OutputFolder).TrimEnd('/'))
        {
            throw new ArgumentException($"{nameof(CheckpointFolder)} and {nameof(OutputFolder)} are both '{OutputFolder}'; the output folder is replaced when the run ends, so use another folder for checkpoints.", nameof(CheckpointFolder));
        }
        if (ContinueFrom is not null && TokenizerPath is not null)
        {
            throw new ArgumentException($"{nameof(TokenizerPath)} is set together with {nameof(ContinueFrom)}; a continued model keeps its checkpoint's tokenizer.", nameof(TokenizerPath));
        }
    }
}
