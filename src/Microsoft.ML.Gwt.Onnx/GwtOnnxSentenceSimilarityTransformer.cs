using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>
/// A sentence-similarity model exported by Microsoft.ML.Gwt (<c>GwtSentenceSimilarityTransformer.ExportForOnnxScoring</c>),
/// scored by ONNX Runtime with no TorchSharp: the same float <c>Score</c> column as the trained transformer, lazily and
/// <c>ScoringBatchSize</c> rows per run in <see cref="TextScoringTransformerBase.Transform"/>, row by row in a
/// <c>PredictionEngine</c>, and saved and loaded by <c>mlContext.Model.Save/Load</c> (the graph and tokenizer are inside the
/// model file, each with a SHA-256). Scoring is thread-safe.
/// </summary>
public sealed partial class GwtOnnxSentenceSimilarityTransformer : TextRegressorTransformerBase
{
    internal const string LoaderSignature = "GwtOnnxSentenceSim"; // ML.NET keeps loader signatures under 24 characters

    private readonly OnnxEncoderSession _session;
    private readonly byte[] _graph;

    internal GwtOnnxSentenceSimilarityTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, TextRegressorSettings settings,
        GwtOnnxScoringOptions? options = null)
        : base(env, nameof(GwtOnnxSentenceSimilarityTransformer), tokenizer, settings)
    {
        _graph = graph;
        ScoringOptions = options ?? new GwtOnnxScoringOptions();
        _session = new OnnxEncoderSession(graph, ScoringOptions, "sentence-similarity model");
        var output = _session.Outputs.TryGetValue("score", out var meta) ? meta
            : throw new InvalidDataException($"The sentence-similarity model's graph has no 'score' output (outputs: {string.Join(", ", _session.Outputs.Keys)}).");
        if (output.Dimensions.Length != 1)
        {
            throw new InvalidDataException($"The sentence-similarity model's graph gives scores of shape [{string.Join(", ", output.Dimensions)}], not [batch].");
        }
    }

    /// <summary>Loads a folder written by <c>GwtSentenceSimilarityTransformer.ExportForOnnxScoring</c>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="folder">The exported folder (<c>model.onnx</c>, <c>tokenizer.bin</c>, <c>gwt-onnx.json</c>).</param>
    /// <param name="options">ONNX Runtime settings; null for the defaults (all graph optimizations).</param>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is damaged (SHA-256 mismatch) or unreadable, or the folder holds a
    /// classifier; the message names it.</exception>
    public static GwtOnnxSentenceSimilarityTransformer Load(MLContext mlContext, string folder, GwtOnnxScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        GwtOnnxModelLoader.Register();
        var (graph, tokenizer, settings) = OnnxScoringFolder.ReadRegressor(folder);
        return new GwtOnnxSentenceSimilarityTransformer(mlContext, graph, tokenizer, settings, options);
    }

    /// <summary>The ONNX Runtime settings in use.</summary>
    public GwtOnnxScoringOptions ScoringOptions { get; }

    /// <summary>Pads the encoded rows to the longest and runs the graph once.</summary>
    protected override float[] Scores(IReadOnlyList<EncodedText> encoded) => _session.Run(encoded, Tokenizer.PadId);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public override void Dispose() => _session.Dispose();
}

/// <summary>Saving and loading through ML.NET's model files: the settings in our entry; the ONNX graph and the tokenizer
/// beside it, with <see cref="ModelChecksums"/> (a SHA-256 of each), verified on load (<see cref="ModelPartReader"/>).</summary>
public sealed partial class GwtOnnxSentenceSimilarityTransformer
{
    private const string GraphPart = "OnnxGraph";

    private static readonly ModelEntry SavedAs = new("GWTONNXS", 0x00010001, LoaderSignature, GwtOnnxModelLoader.SentenceSimilarity, "GWT ONNX sentence similarity");

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(GraphPart, bw => bw.Write(_graph));
        WriteTokenizer(parts);
    }

    /// <summary>ML.NET's loader entry, called by the loader <see cref="GwtOnnxModelLoader"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtOnnxSentenceSimilarityTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(TextRegressorSettings.Read);
        settings.Validate("The model file");
        var graph = parts.ReadBytes(GraphPart, "ONNX graph");
        var tokenizer = ReadTokenizer(parts);
        return new GwtOnnxSentenceSimilarityTransformer(env, graph, tokenizer, settings);
    }
}
