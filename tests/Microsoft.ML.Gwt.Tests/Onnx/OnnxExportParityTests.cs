using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.OnnxExport;

namespace Microsoft.ML.Gwt.Tests.Onnx;

/// <summary>Every family's exported graph gives TorchSharp's probabilities within 1e-4 in ONNX Runtime, on the padded
/// batches of the committed checkpoints (TestData/checkpoints) and on randomly initialized variants.</summary>
[TestClass]
public sealed class OnnxExportParityTests
{
    /// <summary>Padded batch of the checkpoint's expected.json.</summary>
    private static (long[] Ids, long[] Mask, long[] Types, int Batch, int Tokens) Batch(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        long[][] Rows(string name) => doc.RootElement.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var ids = Rows("input_ids");
        return (ids.SelectMany(r => r).ToArray(), Rows("attention_mask").SelectMany(r => r).ToArray(), Rows("token_type_ids").SelectMany(r => r).ToArray(), ids.Length, ids[0].Length);
    }

    /// <summary>TorchSharp's probabilities and ONNX Runtime's for the same batch; returns the largest difference.</summary>
    internal static double Compare(TextClassificationModel model, long[] ids, long[] mask, long[] types, int batch, int tokens, string name)
    {
        model.eval();
        float[] expected;
        using (no_grad())
        {
            long[] shape = { batch, tokens };
            using var tIds = tensor(ids, shape);
            using var tMask = tensor(mask, shape);
            using var tTypes = tensor(types, shape);
            using var logits = model.Forward(tIds, tMask, tTypes);
            using var probs = logits.softmax(1);
            expected = probs.data<float>().ToArray();
        }
        var bytes = OnnxModelExporter.ToBytes(model);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(bytes, options);
        var actual = OnnxTestSupport.Run(session, ids, mask, types, batch, tokens);
        Assert.HasCount(expected.Length, actual);
        double diff = expected.Zip(actual, (e, a) => (double)Math.Abs(e - a)).Max();
        Console.WriteLine($"{name}: max |TorchSharp - ONNX Runtime| probabilities {diff:E2} ({batch}x{tokens}, {bytes.Length / 1024} KiB)");
        return diff;
    }

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("deberta-v2-tiny-buckets8")]
    [DataRow("deberta-v2-tiny-conv")]
    public void CheckpointProbabilitiesMatchTorchSharpOnPaddedBatches(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var (ids, mask, types, batch, tokens) = Batch(folder);
        Assert.IsTrue(mask.Contains(0), "the batch has padding");
        var config = CheckpointLoader.ReadConfig(folder);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        // Encoder-only checkpoints (bert-tiny, roberta-tiny) get a seeded random head of 3 classes.
        int classes = doc.RootElement.TryGetProperty("logits_shape", out var shape) ? shape[1].GetInt32() : 3;
        manual_seed(11);
        using var model = new TextClassificationModel(config, classes);
        CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsLessThan(1e-4, Compare(model, ids, mask, types, batch, tokens, name), name);
    }

    [TestMethod]
    [DataRow("bert", false)]
    [DataRow("roberta", false)]
    [DataRow("camembert", false)]
    [DataRow("distilbert", false)]
    [DataRow("electra", false)]
    [DataRow("deberta-v2", false)]
    [DataRow("deberta-v2", true)]
    public void RandomModelsOfEveryFamilyMatchOnLongerPaddedBatches(string modelType, bool shareAttKey)
    {
        manual_seed(7);
        var config = TestCheckpoints.Config(modelType, shareAttKey);
        using var model = new TextClassificationModel(config, 3);
        // 3 rows of 30, 17 and 5 real tokens (ids never the padding id), padded to 30.
        int batch = 3, tokens = 30;
        var random = new Random(3);
        int[] lengths = { 30, 17, 5 };
        var ids = new long[batch * tokens];
        var mask = new long[batch * tokens];
        var types = new long[batch * tokens];
        for (int r = 0; r < batch; r++)
        {
            for (int t = 0; t < tokens; t++)
            {
                bool real = t < lengths[r];
                ids[r * tokens + t] = real ? random.Next(config.PadTokenId + 1, config.VocabSize) : config.PadTokenId;
                mask[r * tokens + t] = real ? 1 : 0;
                types[r * tokens + t] = real && t > lengths[r] / 2 && config.TypeVocabSize > 1 ? 1 : 0;
            }
        }
        Assert.IsLessThan(1e-4, Compare(model, ids, mask, types, batch, tokens, $"{modelType}{(shareAttKey ? " share_att_key" : "")}"));
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)] // python3 runs ONNX's checker
    [DataRow("bert-tiny")]
    [DataRow("deberta-v2-tiny-conv")]
    [DataRow("distilbert-tiny")]
    public void ExportedGraphsPassOnnxsChecker(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 3);
        var path = Path.Combine(TestCheckpoints.NewFolder(), "model.onnx");
        File.WriteAllBytes(path, OnnxModelExporter.ToBytes(model));
        using (var session = new InferenceSession(path))
        {
            CollectionAssert.AreEqual(new long[] { -1, 3 }, session.OutputMetadata["probabilities"].Dimensions.Select(d => (long)d).ToArray());
            CollectionAssert.AreEqual(new long[] { -1, -1 }, session.InputMetadata["input_ids"].Dimensions.Select(d => (long)d).ToArray());
        }
        var check = OnnxTestSupport.Check(path);
        if (check == OnnxTestSupport.Unavailable)
        {
            Assert.Inconclusive($"ONNX's checker is not available here (no {OnnxTestSupport.Python} with the onnx module, e.g. Debian's python3-onnx): "
                + "the exported file was only loaded in ONNX Runtime (its input and output shapes checked), not checked by ONNX.");
        }
        Assert.IsNull(check, check);
    }
}
