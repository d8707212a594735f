using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Training;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The options every GWT text trainer shares: the text columns, the model (a checkpoint to fine-tune, or a size to train
/// from scratch), the optimization (batching, schedule, GWT or AdamW, clipping, accumulation), the data streaming,
/// precision, validation and early stopping, checkpoints and progress. <see cref="GwtTextClassificationTrainer.Options"/>
/// and <see cref="GwtSentenceSimilarityTrainer.Options"/> add their label and output columns.
/// </summary>
public abstract class GwtTextTrainerOptions : IOptimizationOptions
{
    private protected GwtTextTrainerOptions()
    {
    }

    /// <summary>The first text column. Default "Sentence1".</summary>
    public string Sentence1ColumnName { get; set; } = "Sentence1";

    /// <summary>The second text column of sentence-pair tasks (the classifier's default: null, one text; sentence
    /// similarity's: "Sentence2").</summary>
    public string? Sentence2ColumnName { get; set; }

    /// <summary>Examples per batch. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Passes over the training data. Default 10.</summary>
    public int MaxEpochs { get; set; } = 10;

    /// <summary>Data to measure the validation loss and score on after every epoch (all of it), and for early stopping:
    /// a classifier's accuracy, sentence similarity's Pearson correlation (and MSE as its loss).</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>A local Hugging Face checkpoint folder (<c>config.json</c>, <c>model.safetensors</c> or
    /// <c>pytorch_model.bin</c> read weights-only (<see cref="Modeling.CheckpointLoader.WeightsPath"/>), tokenizer
    /// files) to fine-tune. When null, an encoder of <see cref="ModelSize"/> is trained from scratch with a
    /// vocabulary fitted to the training text.</summary>
    public string? PretrainedModelPath { get; set; }

    /// <summary>Encoder size when training from scratch. Default <see cref="GwtModelSize.Tiny"/>.</summary>
    public GwtModelSize ModelSize { get; set; } = GwtModelSize.Tiny;

    /// <summary>Largest vocabulary fitted from the training text when training from scratch. Default 8192.</summary>
    public int MaxVocabularySize { get; set; } = 8192;

    /// <summary>When training from scratch, the vocabulary is fitted from the first this many labelled training rows
    /// (in the data's order), so its cost does not grow with the data: the pass that fits it stops there, and training
    /// data of at most this many rows is fitted from all of its rows. Pieces of later rows that the sample lacks share
    /// the unknown id, as pieces too rare in the sample do. Default 10,000 (as
    /// <see cref="MaxCachedRows"/> and <see cref="ShuffleBufferSize"/>: the rows the first epoch reads before its
    /// first step anyway), many more texts than an 8,192-piece vocabulary needs to rank its pieces; set it higher
    /// for data whose first rows are not typical of the rest (sorted by date or by class).</summary>
    public int VocabularySampleRows { get; set; } = 10_000;

    /// <summary>Tokens per example (longer text is truncated). Default 128, or the checkpoint's position table when
    /// it is shorter (e.g. 40 tokens when <c>max_position_embeddings</c> is 40); a value set explicitly beyond the
    /// checkpoint's table is an error.</summary>
    public int MaxSequenceLength
    {
        get => _maxSequenceLength;
        set
        {
            _maxSequenceLength = value;
            MaxSequenceLengthIsSet = true;
        }
    }

    private int _maxSequenceLength = 128;

    /// <summary>Whether <see cref="MaxSequenceLength"/> was set (otherwise it adapts to the checkpoint).</summary>
    internal bool MaxSequenceLengthIsSet { get; private set; }

    /// <summary>A copy with the sequence length resolved for a run.</summary>
    internal GwtTextTrainerOptions WithMaxSequenceLength(int maxSequenceLength)
    {
        var copy = (GwtTextTrainerOptions)MemberwiseClone();
        copy._maxSequenceLength = maxSequenceLength;
        return copy;
    }

    /// <summary>Peak learning rate, reached after warm-up and decayed linearly to 0. Default: when fine-tuning a
    /// checkpoint, <c>5e-5 · 768 / hidden size</c> of its encoder, kept within [1e-5, 5e-4] (BERT-base 5e-5, MiniLM
    /// (384) 1e-4, a Tiny encoder (128) 3e-4); when training from scratch, 5e-4. The log's "Learning rate" line says
    /// which was used.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Fraction of all optimizer steps spent warming the learning rate up linearly from 0; then it decays
    /// linearly to 0, as Hugging Face's <c>get_linear_schedule_with_warmup</c> with steps counted from 0. The warm-up
    /// lasts <c>ceil(steps · fraction)</c> steps, at most all steps but one. Default 0.1.</summary>
    public double WarmupFraction { get; set; } = 0.1;

    /// <summary>Decoupled weight decay of weight matrices (biases and LayerNorm get none). Default 0.01.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>The optimizer. Default <see cref="GwtOptimizerKind.Gwt"/>.</summary>
    public GwtOptimizerKind Optimizer { get; set; } = GwtOptimizerKind.Gwt;

    /// <summary>Haar levels of GWT: targeted Adam state shrinks 2^level-fold. Default 2.</summary>
    public int GwtLevel { get; set; } = 2;

    /// <summary>Scale of the GWT update. Default <see cref="GwtAdam.DefaultAlpha"/>.</summary>
    public double GwtAlpha { get; set; } = GwtAdam.DefaultAlpha;

    /// <summary>The Fira norm-growth limiter of the GWT reference. Default true.</summary>
    public bool GwtNormGrowthLimiter { get; set; } = true;

    /// <summary>Which parameters GWT compresses, by name and parameter. Default
    /// <see cref="GwtTargets.EncoderLinearWeights"/> (attention and feed-forward weights). Not saved with the model.</summary>
    public Func<string, Parameter, bool>? GwtTargetSelector { get; set; }

    /// <summary>Clip the global gradient norm (over all trained parameters, after accumulation) to this value; 0
    /// disables clipping. Default 1.</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>Batches whose gradients are accumulated before each optimizer step. Each batch's loss is weighted by
    /// its share of the step's rows, so a step gets the gradient of the mean loss over all its rows, also when the
    /// last batch of an epoch is short. Default 1.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Rows in the seeded shuffle pool through which each epoch's rows pass (ML.NET <c>ShuffleRows</c>'
    /// approach): memory holds this many rows' text, whatever the data size. Data of at most this many rows is
    /// shuffled completely (a uniform permutation per epoch); for larger data the pool mixes rows locally, and when
    /// the data is streamed and its <see cref="IDataView.CanShuffle"/> is true the source's own shuffling cursor
    /// (seeded by the run) shuffles it first. 1 keeps the data's order. Default 10,000.</summary>
    public int ShuffleBufferSize { get; set; } = 10_000;

    /// <summary>Training and validation data of at most this many rows is read once and its text held in memory;
    /// larger data is streamed: read through a new cursor each epoch, with nothing held that grows with the row count.
    /// 0 always streams. The cache changes where rows come from, not the order training sees them in (unless the
    /// data is larger than <see cref="ShuffleBufferSize"/> and can shuffle). Default 10,000 (at the default 128 tokens,
    /// a few MB of text for typical rows).</summary>
    public int MaxCachedRows { get; set; } = 10_000;

    /// <summary>Group batches by length, as Hugging Face's <c>group_by_length</c>: the shuffled rows are cut into
    /// windows of <see cref="LengthGroupingWindow"/> batches, each window is sorted by token count, cut into batches,
    /// and the batches are shuffled (seeded), so rows of similar length share a batch and little padding is computed.
    /// Default true; false batches rows in their shuffled order.</summary>
    public bool GroupByLength { get; set; } = true;

    /// <summary>Batches per length-grouping window (<see cref="GroupByLength"/>). Default 50 (Hugging Face's
    /// mega-batch multiplier).</summary>
    public int LengthGroupingWindow { get; set; } = 50;

    /// <summary>Batches a background producer thread reads, tokenizes and assembles ahead of the training step
    /// (a bounded queue), so that this work overlaps forward and backward; 0 does it on the training thread. Does not
    /// change the result. Default null: 4 when a core is free for the producer (training on CUDA, or more logical
    /// processors than TorchSharp's intra-op threads, <c>torch.get_num_threads()</c>), else 0, since a producer
    /// that competes with the forward/backward threads for the cores slows training down.</summary>
    public int? PrefetchBatches { get; set; }

    /// <summary>Device. Default <see cref="GwtDevice.Auto"/>.</summary>
    public GwtDevice Device { get; set; } = GwtDevice.Auto;

    /// <summary>The precision training and scoring compute in (see <see cref="GwtPrecision"/>). Default
    /// <see cref="GwtPrecision.Float32"/>: the same model for the same seed on every machine, as PyTorch (no autocast)
    /// and Hugging Face's <c>bf16=False</c> default. <see cref="GwtPrecision.Auto"/> and <see cref="GwtPrecision.BFloat16"/>
    /// are opt-in: bfloat16 trained BERT-base 2.3-2.7x faster on a CPU with <c>avx512_bf16</c> but runs about 50x slower
    /// than float32 on one without (measured: see the README), and a float32 run on fast hardware says so once in the
    /// log. Low precisions keep float32 master weights and optimizer state (checkpoints hold them, so resume stays exact)
    /// and compute LayerNorm statistics, softmax, logits and the loss in float32. The model records the precision asked
    /// for, and scoring resolves it on the machine that scores (<see cref="GwtTextClassificationTransformer.ScoringPrecision"/>).
    /// <see cref="GwtPrecision.Float16"/> needs CUDA.</summary>
    public GwtPrecision Precision { get; set; } = GwtPrecision.Float32;

    /// <summary>Store the saved model's weights as bfloat16 (half the file; scoring after loading widens them back to
    /// float32, or uses them as they are when scoring in bfloat16). Default false: float32, the master weights exactly.</summary>
    public bool SaveWeightsAsBFloat16 { get; set; }

    /// <summary>Seed of weight initialization, shuffling and dropout. Default: drawn from the MLContext's seed. Runs are
    /// reproducible on CPU when one training runs at a time: TorchSharp's dropout draws from its process-wide generator,
    /// which the run re-seeds while it trains and hands back in the caller's state when <c>Fit</c> returns.</summary>
    public int? Seed { get; set; }

    /// <summary>Stop when the validation score (accuracy; Pearson correlation for sentence similarity) has not improved for this many epochs and keep the best epoch's
    /// weights (also across a resume: they are saved in the checkpoint folder); 0 disables. Needs
    /// <see cref="ValidationSet"/>. Default 0.</summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>A folder for resumable training: weights, optimizer state, position and the best epoch's weights are
    /// written there every <see cref="CheckpointEverySteps"/> steps and at each epoch end. A run started on the same
    /// data (content and order, validation included) with the same options resumes from it; a finished run returns
    /// its result without training. Other data or options: an <see cref="InvalidOperationException"/> naming what
    /// differs. Default null (no checkpoints).</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Optimizer steps between checkpoints; 0 writes only at epoch ends. Default 100.</summary>
    public int CheckpointEverySteps { get; set; } = 100;

    /// <summary>What to do with a non-finite loss or gradient. Default <see cref="NonFiniteStepAction.Skip"/>.</summary>
    public NonFiniteStepAction NonFiniteStep { get; set; } = NonFiniteStepAction.Skip;

    /// <summary>Rows scored per forward pass by the trained model. Default 64.</summary>
    public int ScoringBatchSize { get; set; } = 64;

    /// <summary>Log a training line every this many optimizer steps. Default 10.</summary>
    public int LogEverySteps { get; set; } = 10;

    /// <summary>Called after each optimizer step and each validation (progress bars, live plots). Not saved.</summary>
    public Action<GwtTrainingProgress>? Progress { get; set; }

    /// <summary>Cancels <c>Fit</c>: checked before training starts, before every batch and during validation, so
    /// <c>Fit</c> throws <see cref="OperationCanceledException"/> within one batch of the request.
    /// <c>mlContext.CancelExecution()</c> (internal in ML.NET 5.0 and 6.0) is honoured too. Not saved.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Test seams of the runs of this trainer (internal; none by default). Not saved.</summary>
    internal TrainingEngineHooks EngineHooks { get; set; } = new();

    /// <summary>The parameters GWT compresses: <see cref="GwtTargetSelector"/> (default
    /// <see cref="GwtTargets.EncoderLinearWeights"/>) with the GWT optimizer, none with AdamW.</summary>
    internal Func<string, Parameter, bool> ResolveTargetSelector() => GwtTargets.Resolve(Optimizer, GwtTargetSelector);

    /// <summary>Checks the options both trainers share (each error names its option).</summary>
    internal virtual void Validate()
    {
        OptionCheck.Require(!string.IsNullOrWhiteSpace(Sentence1ColumnName), nameof(Sentence1ColumnName), Sentence1ColumnName, "a column name");
        OptionCheck.Optimization(this);
        OptionCheck.Require(MaxSequenceLength >= 4, nameof(MaxSequenceLength), MaxSequenceLength, ">= 4");
        OptionCheck.Require(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, ">= 0");
        OptionCheck.Require(ScoringBatchSize > 0, nameof(ScoringBatchSize), ScoringBatchSize, "> 0");
        OptionCheck.Require(MaxVocabularySize > 16, nameof(MaxVocabularySize), MaxVocabularySize, "> 16");
        OptionCheck.Require(VocabularySampleRows > 0, nameof(VocabularySampleRows), VocabularySampleRows, "> 0");
        OptionCheck.Require(ShuffleBufferSize > 0, nameof(ShuffleBufferSize), ShuffleBufferSize, "> 0 (1 keeps the data's order)");
        OptionCheck.Require(MaxCachedRows >= 0, nameof(MaxCachedRows), MaxCachedRows, ">= 0 (0 always streams)");
        OptionCheck.Require(LengthGroupingWindow > 0, nameof(LengthGroupingWindow), LengthGroupingWindow, "> 0");
        OptionCheck.Require(PrefetchBatches is null or >= 0, nameof(PrefetchBatches), PrefetchBatches, ">= 0 (0 produces batches on the training thread) or null (chosen by the free cores)");
        if (EarlyStoppingPatience > 0 && ValidationSet is null)
        {
            throw new ArgumentException($"{nameof(EarlyStoppingPatience)} needs a {nameof(ValidationSet)}.", nameof(EarlyStoppingPatience));
        }
    }
}
