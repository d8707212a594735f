using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The parts every TorchSharp transformer saves beside its task's own (label values, for the classifier): the encoder
/// config, the weights as safetensors, and the device and precision at the end of the settings. One writer and one
/// reader for the classifier and the sentence-similarity regressor, under <see cref="ModelPartReader"/>'s error policy.
/// </summary>
internal static class TorchModelParts
{
    private const string ConfigPart = "Config";
    private const string WeightsPart = "Weights";

    /// <summary>Appends the device, the precision asked for and the weight type to the entry's settings.</summary>
    public static void WriteDeviceAndPrecision(BinaryWriter w, GwtDevice device, GwtPrecision precision, bool bfloat16Weights)
    {
        w.Write((int)device);
        // Added after the classifier's format 0x00010002 was released: files without them are float32 models with float32
        // weights. The precision is the one asked for (Auto included), resolved again on the machine that loads the model.
        w.Write((int)precision);
        w.Write(bfloat16Weights);
    }

    /// <summary>Throws when the saved device or precision is no value of its enum.</summary>
    public static void CheckDeviceAndPrecision(GwtDevice device, GwtPrecision precision)
    {
        if (!Enum.IsDefined(device) || !Enum.IsDefined(precision))
        {
            throw new InvalidDataException($"The model file has invalid settings (device {(int)device}, precision {(int)precision}).");
        }
    }

    /// <summary>Writes the encoder config.</summary>
    public static void WriteConfig(ModelPartWriter parts, TransformerConfig config) => parts.Write(ConfigPart, bw => bw.Write(config.ToJson()));

    /// <summary>Writes the weights (float32, or bfloat16 when asked) as safetensors, under the scorer's read lock.</summary>
    public static void WriteWeights(ModelPartWriter parts, TorchScoringModel scorer, bool bfloat16Weights) =>
        parts.Write(WeightsPart, bw =>
        {
            bw.Flush();
            scorer.Read(model =>
            {
                SafeTensors.Save(bw.BaseStream, model.state_dict(), bfloat16Weights ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
                return true;
            });
        });

    /// <summary>Reads the encoder config.</summary>
    public static TransformerConfig ReadConfig(ModelPartReader parts) =>
        parts.Read(ConfigPart, "encoder config", br => TransformerConfig.FromJson(br.ReadString(), "the model's encoder config"));

    /// <summary>Throws when <paramref name="tokenizer"/> has ids the encoder's vocabulary lacks.</summary>
    public static void CheckVocabulary(TextTokenizer tokenizer, TransformerConfig config)
    {
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"The model file is inconsistent: its tokenizer has {tokenizer.VocabSize} ids but its encoder only {config.VocabSize}.");
        }
    }

    /// <summary>Builds the model (its random initialization is overwritten, so neither a training run's draws nor the
    /// caller's change), reads the weights into it tensor by tensor and moves it to the saved device; disposes it if any
    /// of that fails.</summary>
    public static TextClassificationModel ReadModel(IHostEnvironment env, ModelPartReader parts, TransformerConfig config, int outputs,
        GwtDevice device, string loading, TextHeadKind head = TextHeadKind.SequenceClassification)
    {
        TextClassificationModel model;
        using (RunRandom.Borrow())
        {
            model = new TextClassificationModel(config, outputs, head);
        }
        try
        {
            parts.ReadStreaming(WeightsPart, "weights", (stream, length) => SafeTensors.ReadInto(stream, length, model.state_dict(), "the model's weights"));
            using var ch = env.Start(loading);
            model.to(LoadDevice(device, ch));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The device a loaded model starts on: the saved one; CUDA when it is not present falls back to the CPU.</summary>
    public static torch.Device LoadDevice(GwtDevice saved, IChannel ch)
    {
        if (saved == GwtDevice.Cuda && !torch.cuda.is_available())
        {
            ch.Warning(MessageSensitivity.None, "The model was trained for Cuda but TorchSharp reports no CUDA device here; it scores on the CPU (see MoveTo).");
            return torch.CPU;
        }
        return GwtTextClassificationTrainer.ResolveDevice(saved);
    }
}
