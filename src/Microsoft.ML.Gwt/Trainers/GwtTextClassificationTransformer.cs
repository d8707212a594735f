using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained text classifier. <see cref="Transform"/> lazily adds a <c>Score</c> column (a vector of class
/// probabilities) and a <c>PredictedLabel</c> key column (whose key values are the training label's, in the label's own
/// type), scoring rows in batches in one pass over the input; it works with <c>PredictionEngine</c>,
/// <c>mlContext.MulticlassClassification.Evaluate</c> and <c>mlContext.Model.Save/Load</c> (the model file holds the
/// settings, config, tokenizer, label values and weights, each checked against a SHA-256 on load). Scoring is
/// thread-safe.
/// </summary>
public sealed partial class GwtTextClassificationTransformer : ITransformer, IDisposable, ITextClassifierScorer
{
    internal const string LoaderSignature = "GwtTextClassifierExec";

    private readonly IHost _host;
    private readonly TextClassificationModel _model;
    private readonly ReaderWriterLockSlim _moveLock = new();
    private readonly object _deviceLock = new();
    private Device _device;
    private long _scoredRows;

    internal sealed record Settings(string Sentence1, string? Sentence2, string ScoreColumn, string PredictedLabelColumn,
        int MaxSequenceLength, int ScoringBatchSize, LabelKeys? Labels, GwtDevice Device,
        GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    internal GwtTextClassificationTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, Settings settings,
        GwtTrainingResult? training = null)
    {
        _host = env.Register(nameof(GwtTextClassificationTransformer));
        _model = model;
        _model.eval();
        Tokenizer = tokenizer;
        Options = settings;
        TrainingResult = training;
        _device = model.parameters().First().device;
    }

    /// <summary>The number of classes.</summary>
    public int NumClasses => _model.NumClasses;

    /// <summary>The label values in key order, as text, when the training label had key values.</summary>
    public IReadOnlyList<string>? LabelNames => Options.Labels?.ToText();

    /// <summary>The underlying TorchSharp module (encoder and classification head), in evaluation mode.</summary>
    public TextClassificationModel Model => _model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => _model.Encoder.Config;

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>What the training run did (losses, validation, timing); null for a loaded model.</summary>
    public GwtTrainingResult? TrainingResult { get; }

    /// <summary>The device the model scores on now: <see cref="GwtDevice.Cpu"/> or <see cref="GwtDevice.Cuda"/>. A
    /// loaded model starts on the device it was trained for (<see cref="GwtTextClassificationTrainer.Options.Device"/>),
    /// or on the CPU when that was CUDA and no CUDA device is present; <see cref="MoveTo"/> changes it.</summary>
    public GwtDevice Device => _device.type == DeviceType.CUDA ? GwtDevice.Cuda : GwtDevice.Cpu;

    /// <summary>The device the model was trained for, as saved in the model file.</summary>
    public GwtDevice SavedDevice => Options.Device;

    /// <summary>Rows scored so far (by <see cref="Transform"/>'s output, <c>PredictionEngine</c> and <see cref="Predict"/>).</summary>
    public long ScoredRows => Interlocked.Read(ref _scoredRows);

    internal Settings Options { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <summary>Moves the model to <paramref name="device"/> (<see cref="GwtDevice.Auto"/>: CUDA when present) for all
    /// later scoring. Do not call it while rows are being scored on another thread.</summary>
    /// <exception cref="InvalidOperationException"><see cref="GwtDevice.Cuda"/> is asked for but TorchSharp reports no CUDA device.</exception>
    public GwtTextClassificationTransformer MoveTo(GwtDevice device)
    {
        var target = GwtTextClassificationTrainer.ResolveDevice(device);
        _moveLock.EnterWriteLock();
        try
        {
            _model.to(target);
            _device = target;
            DropLowPrecisionCopy();
        }
        finally
        {
            _moveLock.ExitWriteLock();
        }
        return this;
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema); // same indices as the input; our columns hide any of the same name
        OutputColumns().AddTo(b);
        return b.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return new ScoredDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return new RowMapper(this, inputSchema);
    }

    /// <summary>Class probabilities (in key order) for texts and, for a sentence-pair model, their second sentences,
    /// scored <c>ScoringBatchSize</c> rows per forward pass. A null text scores as an empty one.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    public float[][] Predict(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null) =>
        TextClassifierScoring.Predict(this, texts, second);

    int ITextClassifierScorer.ScoringBatchSize => Options.ScoringBatchSize;

    EncodedText[] ITextClassifierScorer.Encode(IReadOnlyList<(string? First, string? Second)> rows) => Encode(rows);

    float[][] ITextClassifierScorer.ScoreEncoded(IReadOnlyList<EncodedText> rows) => ScoreEncoded(rows);

    /// <summary>Class probabilities of each row (one forward pass).</summary>
    internal float[][] ScoreBatch(IReadOnlyList<(string? First, string? Second)> rows) => ScoreEncoded(Encode(rows));

    /// <summary>The token ids of each row (a null text as an empty one).</summary>
    private EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows) =>
        rows.Select(r => Tokenizer.Encode(r.First, Options.Sentence2 is null ? null : r.Second ?? string.Empty, Options.MaxSequenceLength)).ToArray();

    /// <summary>Class probabilities of each encoded row (one forward pass).</summary>
    private float[][] ScoreEncoded(IReadOnlyList<EncodedText> encoded)
    {
        if (encoded.Count == 0)
        {
            return Array.Empty<float[]>();
        }
        float[] flat;
        _moveLock.EnterReadLock();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var device = _device;
            using var tokens = TokenBatch.Create(encoded, Tokenizer.PadId, device);
            if (device.type == DeviceType.CPU)
            {
                flat = Probabilities(tokens);
            }
            else
            {
                lock (_deviceLock)
                {
                    flat = Probabilities(tokens);
                }
            }
        }
        finally
        {
            _moveLock.ExitReadLock();
        }
        Interlocked.Add(ref _scoredRows, encoded.Count);
        int k = NumClasses;
        return Enumerable.Range(0, encoded.Count).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    /// <summary>Softmax of one batch, copied to managed memory (inside the caller's dispose scope).</summary>
    private float[] Probabilities(TokenBatch tokens) =>
        ScoringModel().Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds).softmax(1).to(ScalarType.Float32).cpu().data<float>().ToArray();

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Options.Sentence1, "text");
        if (Options.Sentence2 is not null)
        {
            TextColumns.CheckText(schema, Options.Sentence2, "text");
        }
    }

    /// <summary>The columns this model adds (the same description the trainer's <c>GetOutputSchema</c> uses).</summary>
    internal ScoreColumns OutputColumns() => ScoreColumns.ForModel(Options.ScoreColumn, Options.PredictedLabelColumn, NumClasses, Options.Labels);

    /// <summary>Releases the model's native memory.</summary>
    public void Dispose()
    {
        DropLowPrecisionCopy();
        _model.Dispose();
        _moveLock.Dispose();
    }

    (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) ITextClassifierScorer.TextGetters(DataViewRow row) =>
        (row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Options.Sentence1]),
         Options.Sentence2 is null ? null : row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Options.Sentence2]));

    IEnumerable<DataViewSchema.Column> ITextClassifierScorer.TextColumnsOf(DataViewSchema schema) =>
        new[] { Options.Sentence1, Options.Sentence2 }.OfType<string>().Select(n => schema[n]);
}
