using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>
/// A named-entity-recognition model exported by <c>GwtNamedEntityRecognitionTransformer.ExportForOnnxScoring</c>, scored
/// with ONNX Runtime, without TorchSharp: the same output column as the TorchSharp transformer (a vector of tag keys, one
/// per whitespace-separated word, with the label's key values), the same word alignment (a word's tag is the argmax at
/// its first sub-token; words without a token get the saved most frequent tag), <c>PredictionEngine</c>,
/// <c>mlContext.Model.Save/Load</c> (graph and tokenizer checked against a SHA-256 on load). Scoring is thread-safe.
/// </summary>
public sealed class GwtOnnxNamedEntityRecognitionTransformer : TokenClassifierTransformerBase
{
    internal const string LoaderSignature = "GwtOnnxNerTagger"; // ML.NET keeps loader signatures under 24 characters

    private const string GraphPart = "OnnxGraph";

    private static readonly ModelEntry SavedAs = new("GWTONNXN", 0x00010001, LoaderSignature, GwtOnnxModelLoader.NamedEntityRecognition, "GWT ONNX named entity recognition");

    private readonly OnnxEncoderSession _session;
    private readonly byte[] _graph;

    internal GwtOnnxNamedEntityRecognitionTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, TokenClassifierSettings settings,
        GwtOnnxScoringOptions? options = null)
        : base(env, nameof(GwtOnnxNamedEntityRecognitionTransformer), tokenizer, settings)
    {
        _graph = graph;
        ScoringOptions = options ?? new GwtOnnxScoringOptions();
        _session = new OnnxEncoderSession(graph, ScoringOptions, "named-entity-recognition model");
        var output = _session.Outputs.TryGetValue("logits", out var meta) ? meta
            : throw new InvalidDataException($"The named-entity-recognition model's graph has no 'logits' output (outputs: {string.Join(", ", _session.Outputs.Keys)}).");
        if (output.Dimensions.Length != 3 || output.Dimensions[2] != settings.Tags.Count)
        {
            throw new InvalidDataException($"The named-entity-recognition model's graph gives logits of shape [{string.Join(", ", output.Dimensions)}], not [batch, tokens, {settings.Tags.Count}].");
        }
    }

    /// <summary>Loads a folder written by <c>GwtNamedEntityRecognitionTransformer.ExportForOnnxScoring</c>, verifying
    /// every file's SHA-256.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is damaged, or the folder holds another task's model; the message names it.</exception>
    public static GwtOnnxNamedEntityRecognitionTransformer Load(MLContext mlContext, string folder, GwtOnnxScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        GwtOnnxModelLoader.Register();
        var (graph, tokenizer, settings) = OnnxScoringFolder.ReadTokenClassifier(folder);
        return new GwtOnnxNamedEntityRecognitionTransformer(mlContext, graph, tokenizer, settings, options);
    }

    /// <summary>The ONNX Runtime session options this model was loaded with.</summary>
    public GwtOnnxScoringOptions ScoringOptions { get; }

    /// <inheritdoc />
    protected override float[] TokenLogits(IReadOnlyList<EncodedText> encoded) => _session.Run(encoded, Tokenizer.PadId);

    /// <inheritdoc />
    public override void Dispose() => _session.Dispose();

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(GraphPart, bw => bw.Write(_graph));
        WriteTokenizer(parts);
    }

    /// <summary>ML.NET's loader entry; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    internal static GwtOnnxNamedEntityRecognitionTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(TokenClassifierSettings.Read);
        settings.Validate("The model file");
        var graph = parts.ReadBytes(GraphPart, "ONNX graph");
        var tokenizer = ReadTokenizer(parts);
        return new GwtOnnxNamedEntityRecognitionTransformer(env, graph, tokenizer, settings);
    }
}
