using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>What a pre-training run did.</summary>
public sealed class GwtPretrainingResult
{
    /// <summary>The Hugging Face checkpoint folder written (use it as <c>PretrainedModelPath</c>).</summary>
    public string OutputFolder { get; internal set; } = "";

    /// <summary>Masked-language-model loss of every optimizer step, in order.</summary>
    public IReadOnlyList<double> TrainingLoss { get; internal set; } = Array.Empty<double>();

    /// <summary>Held-out loss after each epoch (empty without a validation set).</summary>
    public IReadOnlyList<double> ValidationLoss { get; internal set; } = Array.Empty<double>();

    /// <summary>Perplexity of the last held-out loss (<c>exp(loss)</c>), or null without a validation set.</summary>
    public double? ValidationPerplexity => ValidationLoss.Count > 0 ? Math.Exp(ValidationLoss[^1]) : null;

    /// <summary>Optimizer steps taken.</summary>
    public long Steps { get; internal set; }

    /// <summary>The peak learning rate the run used (<see cref="GwtPretrainingOptions.LearningRate"/>, or the optimizer's
    /// preset when unset).</summary>
    public double LearningRate { get; internal set; }

    /// <summary>Steps skipped because the loss or a gradient was not finite.</summary>
    public long SkippedSteps { get; internal set; }

    /// <summary>Packed sequences per epoch.</summary>
    public long SequencesPerEpoch { get; internal set; }

    /// <summary>Bytes of optimizer state (Adam moments) at the end.</summary>
    public long OptimizerStateBytes { get; internal set; }

    /// <summary>Packed sequences trained per second (evaluation excluded).</summary>
    public double SequencesPerSecond { get; internal set; }

    /// <summary>Wall time of the training loop (evaluation included).</summary>
    public TimeSpan TrainingTime { get; internal set; }

    /// <summary>The vocabulary size of the model.</summary>
    public int VocabularySize { get; internal set; }

    /// <summary>Whether the run resumed from <see cref="GwtPretrainingOptions.CheckpointFolder"/>.</summary>
    public bool Resumed { get; internal set; }
}

/// <summary>
/// Masked-language-model pre-training with GWT-Adam: reads a text column (streamed, one cursor per pass), packs the
/// texts into sequences, trains BERT/RoBERTa's MLM objective on the shared training engine (schedule, accumulation,
/// clipping, non-finite steps, resumable checkpoints) and writes a Hugging Face checkpoint folder that
/// <c>PretrainedModelPath</c> fine-tunes. Created by <c>mlContext.GwtPretrainer(options)</c>.
/// </summary>
public sealed class GwtPretrainer
{
    private readonly IHost _host;
    private readonly GwtPretrainingOptions _options;

    internal GwtPretrainer(IHostEnvironment env, GwtPretrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _host = env.Register(nameof(GwtPretrainer));
        _options = options;
    }

    /// <summary>The options this pre-trainer was created with.</summary>
    public GwtPretrainingOptions Options => _options;

    /// <summary>Pre-trains on the text column of <paramref name="input"/> and writes <see cref="GwtPretrainingOptions.OutputFolder"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The text column is missing or not text (the message names it).</exception>
    /// <exception cref="ArgumentException">The data has no text.</exception>
    /// <exception cref="NotSupportedException">The checkpoint's family or the tokenizer cannot be pre-trained (no MLM head or no mask token).</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public GwtPretrainingResult Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken);
        var texts = new TextStream(input, o.TextColumnName, "text");
        var validation = o.ValidationSet is null ? null : new TextStream(o.ValidationSet, o.TextColumnName, "text");
        using var ch = _host.Start("Pretraining");
        int seed = o.Seed ?? _host.Rand.Next();
        var device = GwtTextClassificationTrainer.ResolveDevice(o.Device);

        var (config, tokenizer, tokenizerSource) = PrepareModel(texts, o, ch);
        var tokens = MlmTokens.From(tokenizer, tokenizerSource is null ? "the fitted tokenizer" : $"the tokenizer of '{tokenizerSource}'");
        var packer = new SequencePacker(tokenizer, tokens, o.MaxSequenceLength);
        var masker = new MlmMasker(tokens, o.MaskProbability, o.WholeWordMasking);
        var data = new MlmBatches(texts, packer, masker, o.BatchSize, o.ShuffleBufferSize, seed);
        if (data.Sequences == 0)
        {
            throw new ArgumentException($"The text column '{o.TextColumnName}' has no text to pre-train on.", nameof(input));
        }
        ch.Info(MessageSensitivity.None, $"Pre-training: {data.Sequences} packed sequences of up to {o.MaxSequenceLength} tokens per epoch, " +
            $"vocabulary {tokenizer.VocabSize}, optimizer {o.Optimizer}" + (o.Optimizer == GwtOptimizerKind.Gwt ? $" (level {o.GwtLevel}, alpha {o.GwtAlpha})" : "") +
            $", learning rate {o.ResolvedLearningRate}" + (o.Optimizer == GwtOptimizerKind.Gwt ? $" (untargeted parameters {o.ResolvedNonTargetLearningRate})" : "") +
            $", seed {seed}, device {device.type}.");

        using var random = new RunRandom(seed);
        if (random.SharingNotice is { } sharing)
        {
            ch.Info(MessageSensitivity.None, sharing);
        }
        var selector = o.ResolveTargetSelector();
        using var model = CreateModel(config, o, selector, random, device, ch);
        var engineOptions = EngineOptions(o);
        using var optimizer = GwtAdam.Create(model.named_parameters(), new GwtAdamOptions
        {
            LearningRate = engineOptions.PeakLearningRate, WeightDecay = o.WeightDecay, Level = o.GwtLevel, Alpha = o.GwtAlpha,
            NormGrowthLimiter = o.GwtNormGrowthLimiter,
        }, selector, o.ResolvedNonTargetLearningRate, out var targets);
        var checkpoints = o.CheckpointFolder is null ? null
            : new TrainingCheckpoint(o.CheckpointFolder, PretrainingFingerprint.Of(o, seed, config, tokenizer, targets, data.DataHash));
        var objective = new MlmObjective(model, tokenizer.PadId, device, validation is null ? null : packer.Pack(validation), masker, seed,
            o.BatchSize, () => MlNetInterop.ThrowIfCancelled(_host, o.CancellationToken));
        var engine = new TrainingEngine<MlmBatch>(_host, ch, engineOptions, objective, data, optimizer, random, checkpoints, device);
        var run = engine.Run();

        model.eval();
        HuggingFaceFolder.Write(o.OutputFolder!, model, tokenizer, tokenizerSource, o.MaxSequenceLength);
        ch.Info(MessageSensitivity.None, $"Pre-training done: {run.Steps} steps; wrote '{o.OutputFolder}'.");
        return Result(run, o, data.Sequences, config.VocabSize);
    }

    /// <summary>The masked language model, initialized from the run's seed (holding TorchSharp's generator), loaded from
    /// <see cref="GwtPretrainingOptions.ContinueFrom"/> when continuing, checked against the GWT level, on
    /// <paramref name="device"/>; disposed again if any of that fails.</summary>
    private static MaskedLanguageModel CreateModel(TransformerConfig config, GwtPretrainingOptions o, Func<string, TorchSharp.Modules.Parameter, bool> selector, RunRandom random, Device device, IChannel ch)
    {
        MaskedLanguageModel model;
        using (random.Initialization())
        {
            model = new MaskedLanguageModel(config);
        }
        try
        {
            if (o.ContinueFrom is not null)
            {
                foreach (var line in CheckpointLoader.LoadFile(model, CheckpointLoader.WeightsPath(o.ContinueFrom), config.EncoderPrefix).Lines)
                {
                    ch.Info(MessageSensitivity.None, line);
                }
            }
            GwtLevelCheck.ThrowIfTooHigh(model.named_parameters(), o.GwtLevel, selector);
            model.to(device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The shared engine's options for this run (schedule, accumulation, clipping, checkpoints, progress).</summary>
    private static TrainingEngineOptions EngineOptions(GwtPretrainingOptions o) => new()
    {
        MaxEpochs = o.MaxEpochs,
        PeakLearningRate = o.ResolvedLearningRate,
        WarmupFraction = o.WarmupFraction,
        GradientAccumulationSteps = o.GradientAccumulationSteps,
        GradientClipNorm = o.GradientClipNorm,
        NonFiniteStep = o.NonFiniteStep,
        CheckpointEverySteps = o.CheckpointEverySteps,
        LogEverySteps = o.LogEverySteps,
        Progress = o.Progress is null ? null : p => o.Progress(new GwtPretrainingProgress(p.Epoch, p.Step, p.TotalSteps, p.Loss, p.LearningRate, p.ExamplesPerSecond, p.ValidationLoss)),
        CancellationToken = o.CancellationToken,
    };

    /// <summary>What the run did, for the caller.</summary>
    private static GwtPretrainingResult Result(GwtTrainingResult run, GwtPretrainingOptions o, long sequences, int vocabularySize) => new()
    {
        OutputFolder = Path.GetFullPath(o.OutputFolder!),
        TrainingLoss = run.TrainingLoss.ToArray(),
        ValidationLoss = run.ValidationLoss.ToArray(),
        Steps = run.Steps,
        LearningRate = o.ResolvedLearningRate,
        SkippedSteps = run.SkippedSteps,
        SequencesPerEpoch = sequences,
        OptimizerStateBytes = run.OptimizerStateBytes,
        SequencesPerSecond = run.ExamplesPerSecond,
        TrainingTime = run.TrainingTime,
        VocabularySize = vocabularySize,
        Resumed = run.Resumed,
    };

    /// <summary>The architecture and tokenizer: the checkpoint's when continuing, else a new BERT-layout encoder of
    /// <see cref="GwtPretrainingOptions.ModelSize"/> with the given or a fitted tokenizer. Returns the folder the
    /// tokenizer files come from (null for a fitted vocabulary).</summary>
    private static (TransformerConfig Config, TextTokenizer Tokenizer, string? Source) PrepareModel(TextStream texts, GwtPretrainingOptions o, IChannel ch)
    {
        if (o.ContinueFrom is not null)
        {
            var config = CheckpointLoader.ReadConfig(o.ContinueFrom);
            if (config.Family is not (TransformerFamily.Bert or TransformerFamily.Roberta))
            {
                throw new NotSupportedException(
                    $"ContinueFrom '{o.ContinueFrom}' is a {config.ModelType} checkpoint; masked-language-model pre-training supports bert, roberta, xlm-roberta and camembert.");
            }
            if (o.MaxSequenceLength > config.MaxSequenceLength)
            {
                throw new ArgumentOutOfRangeException(nameof(o.MaxSequenceLength), o.MaxSequenceLength,
                    $"MaxSequenceLength is {o.MaxSequenceLength} but the checkpoint '{o.ContinueFrom}' has a position table for {config.MaxSequenceLength} tokens.");
            }
            ch.Info(MessageSensitivity.None, $"Continuing pre-training of '{o.ContinueFrom}' ({config.ModelType}, {config.NumHiddenLayers} layers × {config.HiddenSize}).");
            return (config, TextTokenizer.FromPretrained(o.ContinueFrom, config), o.ContinueFrom);
        }
        TextTokenizer tokenizer;
        if (o.TokenizerPath is not null)
        {
            tokenizer = PretrainedTokenizerFiles.Load(o.TokenizerPath, "bert");
        }
        else
        {
            tokenizer = WordPieceVocabularyFitter.Fit(texts, o.VocabularySize, o.LowerCase);
            ch.Info(MessageSensitivity.None, $"Fitted a WordPiece vocabulary of {tokenizer.VocabSize} tokens to the text.");
        }
        var cfg = o.ModelSize.Config(tokenizer.VocabSize);
        cfg.MaxPositionEmbeddings = o.MaxSequenceLength;
        cfg.PadTokenId = tokenizer.PadId;
        return (cfg, tokenizer, o.TokenizerPath);
    }
}
