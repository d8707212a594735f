using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Runtime;
using Microsoft.ML.Gwt.Core.Scoring;

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
/// transformer, lazily and <c>ScoringBatchSize</c> rows per run in <see cref="TextClassifierTransformerBase.Transform"/>,
/// row by row in a <c>PredictionEngine</c>, and saved and loaded by <c>mlContext.Model.Save/Load</c> (the graph, tokenizer and label
/// values are inside the model file, each with a SHA-256). Scoring is thread-safe.
/// </summary>
public sealed partial class GwtOnnxTextClassificationTransformer : TextClassifierTransformerBase
{
    internal const string LoaderSignature = "GwtOnnxTextClassifier";

    private readonly InferenceSession _session;
    private readonly byte[] _graph;
    private readonly bool _tokenTypes;

    internal GwtOnnxTextClassificationTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, TextClassifierSettings settings,
        GwtOnnxScoringOptions? options = null)
        : base(env, nameof(GwtOnnxTextClassificationTransformer), tokenizer, settings)
    {
        _graph = graph;
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

    /// <summary>The ONNX Runtime settings in use.</summary>
    public GwtOnnxScoringOptions ScoringOptions { get; }

    /// <summary>Pads the encoded rows to the longest and runs the graph once.</summary>
    protected override float[] Probabilities(IReadOnlyList<EncodedText> encoded)
    {
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
        using var results = _session.Run(inputs);
        return results[0].AsTensor<float>().ToArray();
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public override void Dispose() => _session.Dispose();
}
