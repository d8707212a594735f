using Microsoft.ML.Gwt.Interop;
using Microsoft.ML.Gwt.IO;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Layout of our entry (format <see cref="Version"/>): the entry body holds the settings (length-prefixed); named
/// entries beside it hold the encoder config, the tokenizer, the label values, the weights (safetensors) and
/// <see cref="ModelChecksums"/>, a SHA-256 of each of those parts. Loading verifies every part before using it, and
/// reads the weights tensor by tensor straight into the model's parameters while hashing them.
/// </remarks>
public sealed partial class GwtTextClassificationTransformer : ICanSaveModel
{
    private const string ModelSignature = "GWTTXTCL";

    /// <summary>0x00010002: checksummed parts, typed label values, saved device (0x00010001 files are refused).</summary>
    private const uint Version = 0x00010002;

    private const string SettingsPart = "Settings";
    private const string ConfigPart = "Config";
    private const string TokenizerPart = "Tokenizer";
    private const string LabelsPart = "Labels";
    private const string WeightsPart = "Weights";

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var w = MlNetInterop.BeginSave(ctx, ModelSignature, Version, LoaderSignature, GwtModelLoaderAssembly.Instance);
        var sums = new ModelChecksums();
        var settings = PartBytes(WriteSettings);
        sums.Add(SettingsPart, ModelChecksums.Hash(settings));
        w.Write(settings.Length);
        w.Write(settings);
        SavePart(ctx, sums, ConfigPart, bw => bw.Write(Config.ToJson()));
        SavePart(ctx, sums, TokenizerPart, bw => Tokenizer.Save(bw));
        SavePart(ctx, sums, LabelsPart, bw =>
        {
            bw.Write(Options.Labels is not null);
            Options.Labels?.Save(bw);
        });
        SavePart(ctx, sums, WeightsPart, bw =>
        {
            bw.Flush();
            _moveLock.EnterReadLock();
            try
            {
                SafeTensors.Save(bw.BaseStream, _model.state_dict(), Options.BFloat16Weights ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
            }
            finally
            {
                _moveLock.ExitReadLock();
            }
        });
        MlNetInterop.SaveBinaryStream(ctx, ModelChecksums.EntryName, sums.Write);
    }

    private void WriteSettings(BinaryWriter w)
    {
        w.Write(Options.Sentence1);
        w.Write(Options.Sentence2 is not null);
        w.Write(Options.Sentence2 ?? string.Empty);
        w.Write(Options.ScoreColumn);
        w.Write(Options.PredictedLabelColumn);
        w.Write(Options.MaxSequenceLength);
        w.Write(Options.ScoringBatchSize);
        w.Write(NumClasses);
        w.Write((int)Options.Device);
        // Added after format 0x00010002 was released: files without them are float32 models with float32 weights. The
        // precision is the one asked for (Auto included), resolved again on the machine that loads the model.
        w.Write((int)ScoringPrecision);
        w.Write(Options.BFloat16Weights);
    }

    private static byte[] PartBytes(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var bw = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(bw);
        }
        return ms.ToArray();
    }

    /// <summary>Writes a named entry through a hashing stream and records its SHA-256.</summary>
    private static void SavePart(ModelSaveContext ctx, ModelChecksums sums, string part, Action<BinaryWriter> write) =>
        MlNetInterop.SaveBinaryStream(ctx, part, bw =>
        {
            bw.Flush();
            using var hashing = HashingStream.ForWriting(bw.BaseStream);
            using (var hw = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                write(hw);
            }
            sums.Add(part, hashing.GetHashAndReset());
        });

    /// <summary>ML.NET's loader entry, called by the loader that <see cref="GwtModelLoaderAssembly"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or of an older format; the message names the damaged part.</exception>
    internal static GwtTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var r = MlNetInterop.BeginLoad(ctx, ModelSignature, Version, LoaderSignature, GwtModelLoaderAssembly.Instance, "GWT");
        var sums = LoadPart(ctx, ModelChecksums.EntryName, "checksum table", ModelChecksums.Read);
        var settings = ReadSettings(r, sums);
        var config = LoadVerifiedPart(ctx, sums, ConfigPart, "encoder config", br => TransformerConfig.FromJson(br.ReadString(), "the model's encoder config"));
        var tokenizer = LoadVerifiedPart(ctx, sums, TokenizerPart, "tokenizer", TextTokenizer.Load);
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"The model file is inconsistent: its tokenizer has {tokenizer.VocabSize} ids but its encoder only {config.VocabSize}.");
        }
        var labels = LoadVerifiedPart(ctx, sums, LabelsPart, "label values", br => br.ReadBoolean() ? LabelKeys.Load(br, settings.Classes) : null);

        TextClassificationModel model;
        using (RunRandom.Borrow()) // its random initialization is overwritten: neither a training run's draws nor the caller's change
        {
            model = new TextClassificationModel(config, settings.Classes);
        }
        try
        {
            LoadWeights(ctx, sums, model);
            using var ch = env.Start("Loading a GWT text classifier");
            model.to(LoadDevice(settings.Device, ch));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new GwtTextClassificationTransformer(env, model, tokenizer,
            new Settings(settings.Sentence1, settings.Sentence2, settings.ScoreColumn, settings.PredictedColumn, settings.MaxLength,
                settings.BatchSize, labels, settings.Device, settings.Precision, settings.BFloat16Weights));
    }

    private sealed record SavedSettings(string Sentence1, string? Sentence2, string ScoreColumn, string PredictedColumn,
        int MaxLength, int BatchSize, int Classes, GwtDevice Device, GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    private static SavedSettings ReadSettings(BinaryReader r, ModelChecksums sums)
    {
        byte[] bytes;
        try
        {
            int length = r.ReadInt32();
            if (length < 0 || length > 1 << 20)
            {
                throw new InvalidDataException($"The model file is damaged: its settings claim {length} bytes.");
            }
            bytes = r.ReadBytes(length);
            if (bytes.Length != length)
            {
                throw new InvalidDataException("The model file is damaged: its settings are truncated.");
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The model file is damaged: its settings are truncated.", ex);
        }
        sums.Verify(SettingsPart, "settings", ModelChecksums.Hash(bytes));
        return Parse(bytes, "settings", br =>
        {
            string s1 = br.ReadString();
            bool hasS2 = br.ReadBoolean();
            string s2 = br.ReadString();
            var s = new SavedSettings(s1, hasS2 ? s2 : null, br.ReadString(), br.ReadString(), br.ReadInt32(), br.ReadInt32(), br.ReadInt32(), (GwtDevice)br.ReadInt32());
            if (br.BaseStream.Position < br.BaseStream.Length)
            {
                s = s with { Precision = (GwtPrecision)br.ReadInt32(), BFloat16Weights = br.ReadBoolean() };
            }
            if (s.Classes < 2 || s.Classes > 1 << 20 || s.MaxLength < 4 || s.BatchSize < 1 || !Enum.IsDefined(s.Device) ||
                !Enum.IsDefined(s.Precision))
            {
                throw new InvalidDataException($"The model file has invalid settings (classes {s.Classes}, max length {s.MaxLength}, batch {s.BatchSize}, device {(int)s.Device}).");
            }
            return s;
        });
    }

    /// <summary>Reads a named entry whole (these parts are small), checks its SHA-256, then parses it.</summary>
    private static T LoadVerifiedPart<T>(object ctx, ModelChecksums sums, string part, string description, Func<BinaryReader, T> parse)
    {
        var bytes = LoadPart(ctx, part, description, br =>
        {
            using var ms = new MemoryStream();
            br.BaseStream.CopyTo(ms);
            return ms.ToArray();
        });
        sums.Verify(part, description, ModelChecksums.Hash(bytes));
        return Parse(bytes, description, parse);
    }

    private static T Parse<T>(byte[] bytes, string description, Func<BinaryReader, T> parse)
    {
        using var br = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            return parse(br);
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"The model file's {description} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Opens a named entry; a missing entry, or one the zip layer cannot extract, is an error naming it.</summary>
    private static T LoadPart<T>(object ctx, string part, string description, Func<BinaryReader, T> read)
    {
        T result = default!;
        bool found;
        try
        {
            found = MlNetInterop.TryLoadBinaryStream(ctx, part, br => result = read(br));
        }
        catch (Exception ex) when (ex is IOException and not EndOfStreamException || ex is InvalidDataException && !ex.Message.StartsWith("The model file", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The model file is damaged: its {description} (entry '{part}') cannot be extracted: {ex.Message}", ex);
        }
        return found ? result : throw new InvalidDataException($"The model file is damaged: it has no {description} (entry '{part}').");
    }

    /// <summary>Streams the weights into the model's parameters while hashing them; on any failure the hash decides
    /// whether the weights are damaged (the usual case) or were written wrong.</summary>
    private static void LoadWeights(object ctx, ModelChecksums sums, TextClassificationModel model)
    {
        const string description = "weights";
        LoadPart(ctx, WeightsPart, description, br =>
        {
            var stream = br.BaseStream;
            long length = stream.Length - stream.Position;
            using var hashing = HashingStream.ForReading(stream);
            Exception? failure = null;
            try
            {
                SafeTensors.ReadInto(hashing, length, model.state_dict(), "the model's weights");
            }
            catch (Exception ex) when (ex is FormatException or EndOfStreamException)
            {
                failure = ex;
            }
            hashing.ReadToEnd();
            sums.Verify(WeightsPart, description, hashing.GetHashAndReset());
            if (failure is not null)
            {
                throw new InvalidDataException($"The model file's weights cannot be read: {failure.Message}", failure);
            }
            return true;
        });
    }

    /// <summary>The device a loaded model starts on: the saved one; CUDA when it is not present falls back to the CPU.</summary>
    private static torch.Device LoadDevice(GwtDevice saved, IChannel ch)
    {
        if (saved == GwtDevice.Cuda && !torch.cuda.is_available())
        {
            ch.Warning(MessageSensitivity.None, "The model was trained for Cuda but TorchSharp reports no CUDA device here; it scores on the CPU (see MoveTo).");
            return torch.CPU;
        }
        return GwtTextClassificationTrainer.ResolveDevice(saved);
    }
}
