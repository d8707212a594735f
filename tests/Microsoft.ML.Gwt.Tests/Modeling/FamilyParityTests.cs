using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>Last hidden states (every position, padded ones included) and classification logits against the
/// committed outputs of an independent PyTorch port of Hugging Face's modeling files (TestData/checkpoints/README.md).</summary>
[TestClass]
public sealed class FamilyParityTests
{
    private sealed class Expected : IDisposable
    {
        public required Tensor Ids { get; init; }
        public required Tensor Mask { get; init; }
        public required Tensor Types { get; init; }
        public required long[] Shape { get; init; }
        public required float[] Hidden { get; init; }
        public required long[] LogitsShape { get; init; }
        public required float[] Logits { get; init; }
        public long[][]? RelativePosition { get; init; }

        public void Dispose()
        {
            Ids.Dispose();
            Mask.Dispose();
            Types.Dispose();
        }
    }

    private static Expected Read(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var root = doc.RootElement;
        long[] Longs(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt64()).ToArray();
        long[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(Longs).ToArray();
        float[] Floats(string name) => root.GetProperty(name).EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var ids = Rows("input_ids");
        long[] size = { ids.Length, ids[0].Length };
        return new Expected
        {
            Ids = tensor(ids.SelectMany(r => r).ToArray(), size),
            Mask = tensor(Rows("attention_mask").SelectMany(r => r).ToArray(), size),
            Types = tensor(Rows("token_type_ids").SelectMany(r => r).ToArray(), size),
            Shape = Longs(root.GetProperty("shape")),
            Hidden = Floats("last_hidden_state"),
            LogitsShape = Longs(root.GetProperty("logits_shape")),
            Logits = Floats("logits"),
            RelativePosition = root.TryGetProperty("relative_position", out _) ? Rows("relative_position") : null,
        };
    }

    private static double MaxAbs(float[] expected, Tensor actual)
    {
        var values = actual.data<float>().ToArray();
        Assert.HasCount(expected.Length, values);
        return expected.Zip(values, (e, a) => (double)Math.Abs(e - a)).Max();
    }

    [TestMethod]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("deberta-v2-tiny-buckets8")]
    [DataRow("deberta-v2-tiny-conv")]
    [DataRow("bert-sharded-tiny")]
    [DataRow("bert-bin-tiny")]
    [DataRow("bert-bin-legacy-tiny")]
    [DataRow("bert-bin-sharded-tiny")]
    public void HiddenStatesAndLogitsMatchTheReferenceOnPaddedBatches(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        using var expected = Read(folder);
        using var noGrad = no_grad();

        var (encoder, encoderReport) = CheckpointLoader.LoadEncoder(folder);
        using (encoder)
        {
            encoder.eval();
            using var hidden = encoder.Forward(expected.Ids, expected.Mask, expected.Types);
            CollectionAssert.AreEqual(expected.Shape, hidden.shape);
            double hiddenDiff = MaxAbs(expected.Hidden, hidden);
            Console.WriteLine($"{name}: max |reference - ours| hidden {hiddenDiff:E2}");
            Assert.IsLessThan(1e-4, hiddenDiff, $"{name} hidden");
            Assert.IsEmpty(encoderReport.Missing.Where(m => !m.Contains(".pooler.", StringComparison.Ordinal)).ToList());
        }

        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, (int)expected.LogitsShape[1]);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsEmpty(report.Missing, report.ToString());
        Assert.IsEmpty(report.Unexpected, report.ToString());
        Assert.IsFalse(report.ReinitializedHead);
        model.eval();
        using var logits = model.Forward(expected.Ids, expected.Mask, expected.Types);
        CollectionAssert.AreEqual(expected.LogitsShape, logits.shape);
        double logitsDiff = MaxAbs(expected.Logits, logits);
        Console.WriteLine($"{name}: max |reference - ours| logits {logitsDiff:E2}");
        Assert.IsLessThan(1e-4, logitsDiff, $"{name} logits");
    }

    [TestMethod]
    [DataRow("deberta-v3-tiny")]
    [DataRow("deberta-v2-tiny-buckets8")]
    [DataRow("deberta-v2-tiny-conv")]
    public void DebertaRelativePositionsMatchTheReference(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        using var expected = Read(folder);
        var config = CheckpointLoader.ReadConfig(folder);
        long tokens = expected.Ids.shape[1];
        using var rel = DebertaV2Encoder.RelativePositions(tokens, config.PositionBuckets, config.MaxRelativeDistance);
        var actual = rel.data<long>().ToArray();
        CollectionAssert.AreEqual(expected.RelativePosition!.SelectMany(r => r).ToArray(), actual, name);
    }
}
