using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Layout of our entry (format 0x00010002, written and read by <see cref="ModelPartWriter"/> and
/// <see cref="ModelPartReader"/>): the entry body holds the settings (length-prefixed); named entries beside it hold the
/// encoder config, the tokenizer, the label values, the weights (safetensors) and <see cref="ModelChecksums"/>, a SHA-256
/// of each of those parts. Loading verifies every part before using it, and reads the weights tensor by tensor straight
/// into the model's parameters while hashing them.
/// </remarks>
public sealed partial class GwtTextClassificationTransformer
{
    /// <summary>Format 0x00010002: checksummed parts, typed label values, saved device (0x00010001 files are refused).</summary>
    private static readonly ModelEntry SavedAs = new("GWTTXTCL", 0x00010002, LoaderSignature, GwtModelLoaderAssembly.Instance, "GWT");

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
        WriteTokenizerAndLabels(parts);
        TorchModelParts.WriteWeights(parts, _scorer, Options.BFloat16Weights);
    }

    /// <summary>ML.NET's loader entry, called by the loader that <see cref="GwtModelLoaderAssembly"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or of an older format; the message names the damaged part.</exception>
    internal static GwtTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(ReadSettings);
        var config = TorchModelParts.ReadConfig(parts);
        var (tokenizer, labels) = ReadTokenizerAndLabels(parts, settings.Common.Classes);
        TorchModelParts.CheckVocabulary(tokenizer, config);
        var model = TorchModelParts.ReadModel(env, parts, config, settings.Common.Classes, settings.Device, "Loading a GWT text classifier");
        var common = settings.Common;
        return new GwtTextClassificationTransformer(env, model, tokenizer,
            new Settings(common.Sentence1, common.Sentence2, common.ScoreColumn, common.PredictedLabelColumn, common.MaxSequenceLength,
                common.ScoringBatchSize, labels, settings.Device, settings.Precision, settings.BFloat16Weights));
    }

    private sealed record SavedSettings(TextClassifierSettings Common, GwtDevice Device, GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    private static SavedSettings ReadSettings(BinaryReader br)
    {
        var s = new SavedSettings(TextClassifierSettings.Read(br), (GwtDevice)br.ReadInt32());
        if (br.BaseStream.Position < br.BaseStream.Length)
        {
            s = s with { Precision = (GwtPrecision)br.ReadInt32(), BFloat16Weights = br.ReadBoolean() };
        }
        s.Common.Validate("The model file");
        TorchModelParts.CheckDeviceAndPrecision(s.Device, s.Precision);
        return s;
    }
}
