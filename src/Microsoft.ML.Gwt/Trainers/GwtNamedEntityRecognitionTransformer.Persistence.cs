using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Our entry (signature GWTNERTG, format 0x00010001, loader <see cref="GwtModelLoaderAssembly.NamedEntityRecognitionName"/>)
/// is laid out as the other transformers': the settings in the entry's body (<see cref="TokenClassifierSettings"/> with
/// the tags, then device, precision and weight type); named entries beside it hold the encoder config, the tokenizer, the
/// weights (safetensors) and <see cref="ModelChecksums"/>, a SHA-256 of each. Loading verifies every part before using it.
/// </remarks>
public sealed partial class GwtNamedEntityRecognitionTransformer
{
    private static readonly ModelEntry SavedAs = new("GWTNERTG", 0x00010001, LoaderSignature, GwtModelLoaderAssembly.NamedEntityRecognition, "GWT named entity recognition");

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteSettings(BinaryWriter w)
    {
        base.WriteSettings(w);
        TorchModelParts.WriteDeviceAndPrecision(w, Options.Device, ScoringPrecision, Options.BFloat16Weights);
    }

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        TorchModelParts.WriteConfig(parts, Config);
        WriteTokenizer(parts);
        TorchModelParts.WriteWeights(parts, _scorer, Options.BFloat16Weights);
    }

    /// <summary>ML.NET's loader entry, called by the loader that <see cref="GwtModelLoaderAssembly"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtNamedEntityRecognitionTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(ReadSettings);
        var config = TorchModelParts.ReadConfig(parts);
        var tokenizer = ReadTokenizer(parts);
        TorchModelParts.CheckVocabulary(tokenizer, config);
        var model = TorchModelParts.ReadModel(env, parts, config, settings.Common.Tags.Count, settings.Device, "Loading a GWT named-entity-recognition model",
            TextHeadKind.TokenClassification);
        return new GwtNamedEntityRecognitionTransformer(env, model, tokenizer, settings);
    }

    private static Settings ReadSettings(BinaryReader br)
    {
        var common = TokenClassifierSettings.Read(br);
        var s = new Settings(common, (GwtDevice)br.ReadInt32(), (GwtPrecision)br.ReadInt32(), br.ReadBoolean());
        common.Validate("The model file");
        TorchModelParts.CheckDeviceAndPrecision(s.Device, s.Precision);
        return s;
    }
}
