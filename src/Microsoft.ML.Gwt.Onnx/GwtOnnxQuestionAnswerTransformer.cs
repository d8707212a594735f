using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>
/// A question-answering model exported by Microsoft.ML.Gwt (<c>GwtQuestionAnswerTransformer.ExportForOnnxScoring</c>),
/// scored by ONNX Runtime with no TorchSharp: the same <c>Answer</c> and <c>Score</c> columns as the trained transformer
/// (windows and answer decoding are <see cref="QuestionAnswerTransformerBase"/>'s, shared with it), in
/// <c>Transform</c>, a <c>PredictionEngine</c> and <c>mlContext.Model.Save/Load</c> (graph, tokenizer and settings inside
/// the model file, each with a SHA-256). Scoring is thread-safe.
/// </summary>
public sealed class GwtOnnxQuestionAnswerTransformer : QuestionAnswerTransformerBase
{
    internal const string LoaderSignature = "GwtOnnxQuestionAnswer"; // under 24 characters, as ML.NET keeps them

    private const string GraphPart = "OnnxGraph";

    private static readonly ModelEntry SavedAs = new("GWTONNXQ", 0x00010001, LoaderSignature, GwtOnnxModelLoader.QuestionAnswer, "GWT ONNX question answering");

    private readonly OnnxEncoderSession _session;
    private readonly byte[] _graph;

    internal GwtOnnxQuestionAnswerTransformer(IHostEnvironment env, byte[] graph, TextTokenizer tokenizer, QuestionAnswerSettings settings,
        GwtOnnxScoringOptions? options = null)
        : base(env, nameof(GwtOnnxQuestionAnswerTransformer), tokenizer, settings)
    {
        _graph = graph;
        ScoringOptions = options ?? new GwtOnnxScoringOptions();
        _session = new OnnxEncoderSession(graph, ScoringOptions, "question-answering model");
        var output = _session.Outputs.TryGetValue("span_logits", out var meta) ? meta
            : throw new InvalidDataException($"The question-answering model's graph has no 'span_logits' output (outputs: {string.Join(", ", _session.Outputs.Keys)}).");
        if (output.Dimensions.Length != 3)
        {
            throw new InvalidDataException($"The question-answering model's graph gives span logits of shape [{string.Join(", ", output.Dimensions)}], not [batch, sequence, 2].");
        }
    }

    /// <summary>Loads a folder written by <c>GwtQuestionAnswerTransformer.ExportForOnnxScoring</c>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is damaged, or the folder holds another task's model; the message names it.</exception>
    public static GwtOnnxQuestionAnswerTransformer Load(MLContext mlContext, string folder, GwtOnnxScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        GwtOnnxModelLoader.Register();
        var (graph, tokenizer, settings) = OnnxScoringFolder.ReadQuestionAnswer(folder);
        return new GwtOnnxQuestionAnswerTransformer(mlContext, graph, tokenizer, settings, options);
    }

    /// <summary>The ONNX Runtime settings in use.</summary>
    public GwtOnnxScoringOptions ScoringOptions { get; }

    /// <summary>Pads the windows to the longest, runs the graph once, and keeps each window's real positions.</summary>
    protected override float[][] SpanLogits(IReadOnlyList<EncodedText> windows)
    {
        int padded = Math.Max(1, windows.Max(w => w.Ids.Length));
        var flat = _session.Run(windows, Tokenizer.PadId);
        return windows.Select((w, b) => flat.AsSpan(b * padded * 2, w.Ids.Length * 2).ToArray()).ToArray();
    }

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(GraphPart, bw => bw.Write(_graph));
        WriteTokenizer(parts);
    }

    /// <summary>ML.NET's loader entry, called by the loader <see cref="GwtOnnxModelLoader"/> emits.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtOnnxQuestionAnswerTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(QuestionAnswerSettings.Read);
        settings.Validate("The model file");
        var graph = parts.ReadBytes(GraphPart, "ONNX graph");
        var tokenizer = ReadTokenizer(parts);
        return new GwtOnnxQuestionAnswerTransformer(env, graph, tokenizer, settings);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public override void Dispose() => _session.Dispose();
}
