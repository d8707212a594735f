using Microsoft.ML.Gwt.Interop;
using Microsoft.ML.Runtime;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>Saving and loading through ML.NET's model files.</summary>
/// <remarks>
/// Our entry holds the settings; named entries beside it hold the ONNX graph, the tokenizer and the label values, with
/// <see cref="ModelChecksums"/> (a SHA-256 of each). Loading verifies every part before using it.
/// </remarks>
public sealed partial class GwtOnnxTextClassificationTransformer : ICanSaveModel
{
    private const string ModelSignature = "GWTONNXC";
    private const uint Version = 0x00010001;
    private const string SettingsPart = "Settings", GraphPart = "OnnxGraph", TokenizerPart = "Tokenizer", LabelsPart = "Labels";

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var w = MlNetInterop.BeginSave(ctx, ModelSignature, Version, LoaderSignature, GwtOnnxModelLoader.Loader);
        var sums = new ModelChecksums();
        var settings = OnnxScoringFolder.Bytes(bw =>
        {
            bw.Write(Settings.Sentence1);
            bw.Write(Settings.Sentence2 is not null);
            bw.Write(Settings.Sentence2 ?? string.Empty);
            bw.Write(Settings.ScoreColumn);
            bw.Write(Settings.PredictedLabelColumn);
            bw.Write(Settings.MaxSequenceLength);
            bw.Write(Settings.ScoringBatchSize);
            bw.Write(Settings.Classes);
        });
        sums.Add(SettingsPart, ModelChecksums.Hash(settings));
        w.Write(settings.Length);
        w.Write(settings);
        SavePart(ctx, sums, GraphPart, _graph);
        SavePart(ctx, sums, TokenizerPart, OnnxScoringFolder.Bytes(Tokenizer.Save));
        SavePart(ctx, sums, LabelsPart, OnnxScoringFolder.Bytes(bw =>
        {
            bw.Write(Settings.Labels is not null);
            Settings.Labels?.Save(bw);
        }));
        MlNetInterop.SaveBinaryStream(ctx, ModelChecksums.EntryName, sums.Write);
    }

    private static void SavePart(ModelSaveContext ctx, ModelChecksums sums, string part, byte[] bytes)
    {
        sums.Add(part, ModelChecksums.Hash(bytes));
        MlNetInterop.SaveBinaryStream(ctx, part, bw => bw.Write(bytes));
    }

    /// <summary>ML.NET's loader entry, called by the loader <see cref="GwtOnnxModelLoader"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    /// <exception cref="InvalidDataException">The file is damaged; the message names the damaged part.</exception>
    internal static GwtOnnxTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var r = MlNetInterop.BeginLoad(ctx, ModelSignature, Version, LoaderSignature, GwtOnnxModelLoader.Loader, "GWT ONNX");
        var sums = Part(ctx, ModelChecksums.EntryName, "checksum table", ModelChecksums.Read);
        int length = r.ReadInt32();
        if (length < 0 || length > 1 << 20)
        {
            throw new InvalidDataException($"The model file is damaged: its settings claim {length} bytes.");
        }
        var settingsBytes = r.ReadBytes(length);
        sums.Verify(SettingsPart, "settings", ModelChecksums.Hash(settingsBytes));
        var graph = Verified(ctx, sums, GraphPart, "ONNX graph");
        var tokenizer = Parse(Verified(ctx, sums, TokenizerPart, "tokenizer"), "tokenizer", TextTokenizer.Load);
        var (s1, s2, score, predicted, maxLength, batch, classes) = Parse(settingsBytes, "settings", br =>
        {
            string first = br.ReadString();
            bool hasSecond = br.ReadBoolean();
            string second = br.ReadString();
            return (first, hasSecond ? second : null, br.ReadString(), br.ReadString(), br.ReadInt32(), br.ReadInt32(), br.ReadInt32());
        });
        var labels = Parse(Verified(ctx, sums, LabelsPart, "label values"), "label values", br => br.ReadBoolean() ? LabelKeys.Load(br, classes) : null);
        var settings = new OnnxClassifierSettings(s1, s2, score, predicted, maxLength, batch, classes, labels);
        settings.Validate("The model file");
        return new GwtOnnxTextClassificationTransformer(env, graph, tokenizer, settings);
    }

    private static byte[] Verified(object ctx, ModelChecksums sums, string part, string description)
    {
        var bytes = Part(ctx, part, description, br =>
        {
            using var ms = new MemoryStream();
            br.BaseStream.CopyTo(ms);
            return ms.ToArray();
        });
        sums.Verify(part, description, ModelChecksums.Hash(bytes));
        return bytes;
    }

    private static T Part<T>(object ctx, string part, string description, Func<BinaryReader, T> read)
    {
        T result = default!;
        return MlNetInterop.TryLoadBinaryStream(ctx, part, br => result = read(br)) ? result
            : throw new InvalidDataException($"The model file is damaged: it has no {description} (entry '{part}').");
    }

    private static T Parse<T>(byte[] bytes, string description, Func<BinaryReader, T> parse)
    {
        using var br = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            return parse(br);
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"The model file's {description} cannot be read: {ex.Message}", ex);
        }
    }
}
