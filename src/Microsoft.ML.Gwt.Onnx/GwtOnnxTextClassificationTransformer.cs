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
/// transformer, lazily and <c>ScoringBatchSize</c> rows per run in <see cref="TextScoringTransformerBase.Transform"/>,
/// row by row in a <c>PredictionEngine</c>, and saved and loaded by <c>mlContext.Model.Save/Load</c> (the graph, tokenizer and label
/// values are inside the model file, each with a SHA-256). Scoring is thread-safe.
/// </summary>
public sealed partial class GwtOnnxTextClassificationTransformer : TextClassifierTransformerBase
{
    internal const string LoaderSignature = "GwtOnnxTextClassifier";

    private readonly OnnxEncoderSession _session;
    private readonly byte[] _graph;

    internal GwtOnnxTextClassificationTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, TextClassifierSettings settings,
        GwtOnnxScoringOptions? options = null)
        : base(env, nameof(GwtOnnxTextClassificationTransformer), tokenizer, settings)
    {
        _graph = graph;
        ScoringOptions = options ?? new GwtOnnxScoringOptions();
        _session = new OnnxEncoderSession(graph, ScoringOptions, "classifier");
        var output = _session.Outputs.TryGetValue("probabilities", out var meta) ? meta
            : throw new InvalidDataException($"The classifier's graph has no 'probabilities' output (outputs: {string.Join(", ", _session.Outputs.Keys)}).");
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
    protected override float[] Probabilities(IReadOnlyList<EncodedText> encoded) => _session.Run(encoded, Tokenizer.PadId);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public override void Dispose() => _session.Dispose();
}
