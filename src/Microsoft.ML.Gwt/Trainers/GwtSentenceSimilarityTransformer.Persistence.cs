using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Our entry (signature GWTSTSIM, format 0x00010001, loader <see cref="GwtModelLoaderAssembly.SentenceSimilarityName"/>)
/// is laid out as the classifier's: the settings in the entry's body (<see cref="TextRegressorSettings"/>, then device,
/// precision and weight type); named entries beside it hold the encoder config, the tokenizer, the weights (safetensors)
/// and <see cref="ModelChecksums"/>, a SHA-256 of each. Loading verifies every part before using it.
/// </remarks>
public sealed partial class GwtSentenceSimilarityTransformer
{
    private const string ConfigPart = "Config";
    private const string WeightsPart = "Weights";

    private static readonly ModelEntry SavedAs = new("GWTSTSIM", 0x00010001, LoaderSignature, GwtModelLoaderAssembly.SentenceSimilarity, "GWT sentence similarity");

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteSettings(BinaryWriter w)
    {
        base.WriteSettings(w);
        w.Write((int)Options.Device);
        w.Write((int)ScoringPrecision);
        w.Write(Options.BFloat16Weights);
    }

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(ConfigPart, bw => bw.Write(Config.ToJson()));
        WriteTokenizer(parts);
        parts.Write(WeightsPart, bw =>
        {
            bw.Flush();
            _scorer.Read(model =>
            {
                SafeTensors.Save(bw.BaseStream, model.state_dict(), Options.BFloat16Weights ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
                return true;
            });
        });
    }

    /// <summary>ML.NET's loader entry, called by the loader that <see cref="GwtModelLoaderAssembly"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtSentenceSimilarityTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(ReadSettings);
        var config = parts.Read(ConfigPart, "encoder config", br => TransformerConfig.FromJson(br.ReadString(), "the model's encoder config"));
        var tokenizer = ReadTokenizer(parts);
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"The model file is inconsistent: its tokenizer has {tokenizer.VocabSize} ids but its encoder only {config.VocabSize}.");
        }
        TextClassificationModel model;
        using (RunRandom.Borrow()) // its random initialization is overwritten: neither a training run's draws nor the caller's change
        {
            model = new TextClassificationModel(config, 1);
        }
        try
        {
            parts.ReadStreaming(WeightsPart, "weights", (stream, length) => SafeTensors.ReadInto(stream, length, model.state_dict(), "the model's weights"));
            using var ch = env.Start("Loading a GWT sentence-similarity model");
            model.to(GwtTextClassificationTransformer.LoadDevice(settings.Device, ch));
            return new GwtSentenceSimilarityTransformer(env, model, tokenizer, settings);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static Settings ReadSettings(BinaryReader br)
    {
        var common = TextRegressorSettings.Read(br);
        var s = new Settings(common, (GwtDevice)br.ReadInt32(), (GwtPrecision)br.ReadInt32(), br.ReadBoolean());
        common.Validate("The model file");
        if (!Enum.IsDefined(s.Device) || !Enum.IsDefined(s.Precision))
        {
            throw new InvalidDataException($"The model file has invalid settings (device {(int)s.Device}, precision {(int)s.Precision}).");
        }
        return s;
    }
}
