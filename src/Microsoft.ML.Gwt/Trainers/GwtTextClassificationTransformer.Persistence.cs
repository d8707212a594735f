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
    private const string ConfigPart = "Config";
    private const string WeightsPart = "Weights";

    /// <summary>Format 0x00010002: checksummed parts, typed label values, saved device (0x00010001 files are refused).</summary>
    private static readonly ModelEntry SavedAs = new("GWTTXTCL", 0x00010002, LoaderSignature, GwtModelLoaderAssembly.Instance, "GWT");

    /// <inheritdoc />
    protected override ModelEntry Entry => SavedAs;

    /// <inheritdoc />
    protected override void WriteSettings(BinaryWriter w)
    {
        base.WriteSettings(w);
        w.Write((int)Options.Device);
        // Added after format 0x00010002 was released: files without them are float32 models with float32 weights. The
        // precision is the one asked for (Auto included), resolved again on the machine that loads the model.
        w.Write((int)ScoringPrecision);
        w.Write(Options.BFloat16Weights);
    }

    /// <inheritdoc />
    protected override void WriteParts(ModelPartWriter parts)
    {
        parts.Write(ConfigPart, bw => bw.Write(Config.ToJson()));
        WriteTokenizerAndLabels(parts);
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
    /// <exception cref="InvalidDataException">The file is damaged or of an older format; the message names the damaged part.</exception>
    internal static GwtTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var parts = ModelPartReader.Open(ctx, SavedAs);
        var settings = parts.ReadSettings(ReadSettings);
        var config = parts.Read(ConfigPart, "encoder config", br => TransformerConfig.FromJson(br.ReadString(), "the model's encoder config"));
        var (tokenizer, labels) = ReadTokenizerAndLabels(parts, settings.Common.Classes);
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"The model file is inconsistent: its tokenizer has {tokenizer.VocabSize} ids but its encoder only {config.VocabSize}.");
        }

        TextClassificationModel model;
        using (RunRandom.Borrow()) // its random initialization is overwritten: neither a training run's draws nor the caller's change
        {
            model = new TextClassificationModel(config, settings.Common.Classes);
        }
        try
        {
            parts.ReadStreaming(WeightsPart, "weights", (stream, length) => SafeTensors.ReadInto(stream, length, model.state_dict(), "the model's weights"));
            using var ch = env.Start("Loading a GWT text classifier");
            model.to(LoadDevice(settings.Device, ch));
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
        if (!Enum.IsDefined(s.Device) || !Enum.IsDefined(s.Precision))
        {
            throw new InvalidDataException($"The model file has invalid settings (device {(int)s.Device}, precision {(int)s.Precision}).");
        }
        return s;
    }

    /// <summary>The device a loaded model starts on: the saved one; CUDA when it is not present falls back to the CPU.</summary>
    internal static torch.Device LoadDevice(GwtDevice saved, IChannel ch)
    {
        if (saved == GwtDevice.Cuda && !torch.cuda.is_available())
        {
            ch.Warning(MessageSensitivity.None, "The model was trained for Cuda but TorchSharp reports no CUDA device here; it scores on the CPU (see MoveTo).");
            return torch.CPU;
        }
        return GwtTextClassificationTrainer.ResolveDevice(saved);
    }
}
