using Microsoft.ML.Runtime;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Our entry holds the settings; named entries beside it hold the ONNX graph, the tokenizer and the label values, with
/// <see cref="ModelChecksums"/> (a SHA-256 of each). Loading verifies every part before using it
/// (<see cref="ModelPartReader"/>).
/// </remarks>
public sealed partial class GwtOnnxTextClassificationTransformer
{
    private const string GraphPart = "OnnxGraph";

    private static readonly ModelEntry SavedAs = new("GWTONNXC", 0x00010001, LoaderSignature, GwtOnnxModelLoader.Loader, "GWT ONNX");

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(GraphPart, bw => bw.Write(_graph));
        WriteTokenizerAndLabels(parts);
    }

    /// <summary>ML.NET's loader entry, called by the loader <see cref="GwtOnnxModelLoader"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtOnnxTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(TextClassifierSettings.Read);
        var graph = parts.ReadBytes(GraphPart, "ONNX graph");
        var (tokenizer, labels) = ReadTokenizerAndLabels(parts, settings.Classes);
        settings = settings with { Labels = labels };
        settings.Validate("The model file");
        return new GwtOnnxTextClassificationTransformer(env, graph, tokenizer, settings);
    }
}
