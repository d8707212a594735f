using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>How ONNX Runtime runs an exported classifier.</summary>
public sealed class GwtOnnxScoringOptions
{
    /// <summary>Whether ONNX Runtime applies all its graph optimizations (operator fusion such as attention, GELU and
    /// LayerNorm kernels); default true.</summary>
    public bool OptimizeGraph { get; set; } = true;

    /// <summary>Threads of one forward pass; 0 (default) lets ONNX Runtime use one per physical core.</summary>
    public int IntraOpThreads { get; set; }
}

/// <summary>
/// A text classifier exported by Microsoft.ML.Gwt (<c>GwtTextClassificationTransformer.ExportForOnnxScoring</c>),
/// scored by ONNX Runtime with no TorchSharp: the same <c>Score</c> and <c>PredictedLabel</c> columns as the trained
/// transformer, lazily and <c>ScoringBatchSize</c> rows per run in <see cref="Transform"/>, row by row in a
/// <c>PredictionEngine</c>, and saved and loaded by <c>mlContext.Model.Save/Load</c> (the graph, tokenizer and label
/// values are inside the model file, each with a SHA-256). Scoring is thread-safe.
/// </summary>
public sealed partial class GwtOnnxTextClassificationTransformer : ITransformer, IDisposable, ITextClassifierScorer
{
    internal const string LoaderSignature = "GwtOnnxTextClassifier";

    private readonly IHost _host;
    private readonly InferenceSession _session;
    private readonly byte[] _graph;
    private readonly bool _tokenTypes;
    private long _scoredRows;

    internal GwtOnnxTextClassificationTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, OnnxClassifierSettings settings,
        GwtOnnxScoringOptions? options = null)
    {
        _host = env.Register(nameof(GwtOnnxTextClassificationTransformer));
        _graph = graph;
        Tokenizer = tokenizer;
        Settings = settings;
        ScoringOptions = options ?? new GwtOnnxScoringOptions();
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = ScoringOptions.OptimizeGraph ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = ScoringOptions.IntraOpThreads,
        };
        try
        {
            _session = new InferenceSession(graph, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load the classifier's graph: {ex.Message}", ex);
        }
        _tokenTypes = _session.InputMetadata.ContainsKey("token_type_ids");
        var output = _session.OutputMetadata.TryGetValue("probabilities", out var meta) ? meta
            : throw new InvalidDataException($"The classifier's graph has no 'probabilities' output (outputs: {string.Join(", ", _session.OutputMetadata.Keys)}).");
        if (output.Dimensions.Length != 2 || output.Dimensions[1] != settings.Classes)
        {
            throw new InvalidDataException($"The classifier's graph gives probabilities of shape [{string.Join(", ", output.Dimensions)}] but its settings say {settings.Classes} classes.");
        }
    }

    /// <summary>Loads a folder written by <c>GwtTextClassificationTransformer.ExportForOnnxScoring</c>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="folder">The exported folder (<c>model.onnx</c>, <c>tokenizer.bin</c>, <c>labels.bin</c>, <c>gwt-onnx.json</c>).</param>
    /// <param name="options">ONNX Runtime settings; null for the defaults (all graph optimizations).</param>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is damaged (SHA-256 mismatch) or unreadable; the message names it.</exception>
    public static GwtOnnxTextClassificationTransformer Load(MLContext mlContext, string folder, GwtOnnxScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        GwtOnnxModelLoader.Register();
        var (graph, tokenizer, settings) = OnnxScoringFolder.Read(folder);
        return new GwtOnnxTextClassificationTransformer(mlContext, graph, tokenizer, settings, options);
    }

    /// <summary>The number of classes.</summary>
    public int NumClasses => Settings.Classes;

    /// <summary>The label values in key order, as text, when the training label had key values.</summary>
    public IReadOnlyList<string>? LabelNames => Settings.Labels?.ToText();

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>The ONNX Runtime settings in use.</summary>
    public GwtOnnxScoringOptions ScoringOptions { get; }

    /// <summary>Rows scored so far (by <see cref="Transform"/>'s output, <c>PredictionEngine</c> and <see cref="Predict"/>).</summary>
    public long ScoredRows => Interlocked.Read(ref _scoredRows);

    internal OnnxClassifierSettings Settings { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema);
        ScoreColumns.ForModel(Settings.ScoreColumn, Settings.PredictedLabelColumn, NumClasses, Settings.Labels).AddTo(b);
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
    /// <c>ScoringBatchSize</c> rows per run. A null text scores as an empty one.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    public float[][] Predict(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null) =>
        TextClassifierScoring.Predict(this, texts, second);

    /// <summary>The token ids of each row (a null text as an empty one).</summary>
    private EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows) =>
        rows.Select(r => Tokenizer.Encode(r.First, Settings.Sentence2 is null ? null : r.Second ?? string.Empty, Settings.MaxSequenceLength)).ToArray();

    /// <summary>Pads the encoded rows to the longest and runs the graph once.</summary>
    private float[][] ScoreEncoded(IReadOnlyList<EncodedText> encoded)
    {
        if (encoded.Count == 0)
        {
            return Array.Empty<float[]>();
        }
        int width = Math.Max(1, encoded.Max(e => e.Ids.Length));
        var ids = new long[encoded.Count * width];
        var mask = new long[encoded.Count * width];
        var types = new long[encoded.Count * width];
        Array.Fill(ids, Tokenizer.PadId);
        for (int r = 0; r < encoded.Count; r++)
        {
            for (int t = 0; t < encoded[r].Ids.Length; t++)
            {
                ids[r * width + t] = encoded[r].Ids[t];
                mask[r * width + t] = 1;
                types[r * width + t] = encoded[r].TypeIds[t];
            }
        }
        int[] dims = { encoded.Count, width };
        var inputs = new List<NamedOnnxValue>(3)
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
        };
        if (_tokenTypes)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)));
        }
        float[] flat;
        using (var results = _session.Run(inputs))
        {
            flat = results[0].AsTensor<float>().ToArray();
        }
        Interlocked.Add(ref _scoredRows, encoded.Count);
        int k = NumClasses;
        return Enumerable.Range(0, encoded.Count).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Settings.Sentence1, "text");
        if (Settings.Sentence2 is not null)
        {
            TextColumns.CheckText(schema, Settings.Sentence2, "text");
        }
    }

    int ITextClassifierScorer.ScoringBatchSize => Settings.ScoringBatchSize;

    EncodedText[] ITextClassifierScorer.Encode(IReadOnlyList<(string? First, string? Second)> rows) => Encode(rows);

    float[][] ITextClassifierScorer.ScoreEncoded(IReadOnlyList<EncodedText> rows) => ScoreEncoded(rows);

    (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) ITextClassifierScorer.TextGetters(DataViewRow row) =>
        (row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Settings.Sentence1]),
         Settings.Sentence2 is null ? null : row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Settings.Sentence2]));

    IEnumerable<DataViewSchema.Column> ITextClassifierScorer.TextColumnsOf(DataViewSchema schema) =>
        new[] { Settings.Sentence1, Settings.Sentence2 }.OfType<string>().Select(n => schema[n]);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}
