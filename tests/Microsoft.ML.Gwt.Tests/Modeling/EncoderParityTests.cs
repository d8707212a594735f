using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class EncoderParityTests
{
    internal static string Checkpoint(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "checkpoints", name);

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    public void LastHiddenStateMatchesReferenceIncludingPaddedRows(string name)
    {
        var folder = Checkpoint(name);
        using var encoder = TransformerTextEncoder.FromPretrained(folder);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        long[] Read2D(string prop) => doc.RootElement.GetProperty(prop).EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt64())).ToArray();
        var shape = doc.RootElement.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        using var ids = tensor(Read2D("input_ids"), new[] { shape[0], shape[1] });
        using var mask = tensor(Read2D("attention_mask"), new[] { shape[0], shape[1] });
        using var types = tensor(Read2D("token_type_ids"), new[] { shape[0], shape[1] });
        var expected = doc.RootElement.GetProperty("last_hidden_state").EnumerateArray().Select(v => v.GetSingle()).ToArray();

        using var noGrad = no_grad();
        using var hidden = encoder.Encoder.Forward(ids, mask, types);
        CollectionAssert.AreEqual(shape, hidden.shape);
        var actual = hidden.data<float>().ToArray();
        double maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Console.WriteLine($"{name}: max |reference - ours| = {maxDiff:E3}");
        Assert.IsLessThan(1e-4, maxDiff, $"{name}: max abs diff {maxDiff}");
    }

    [TestMethod]
    public void LoadReportNamesUnusedKeys()
    {
        using var encoder = TransformerTextEncoder.FromPretrained(Checkpoint("bert-tiny"));
        CollectionAssert.Contains(encoder.LoadReport!.Unexpected.ToList(), "cls.predictions.bias");
        Assert.IsEmpty(encoder.LoadReport.Missing);
    }

    [TestMethod]
    public void TokenizeThenEncodeGivesBatchTokensHidden()
    {
        using var encoder = TransformerTextEncoder.FromPretrained(Checkpoint("bert-tiny"));
        using var batch = encoder.Tokenize(new[] { "Hello world!", "the cat sat on the mat", null });
        // Dynamic padding: the longest row is [CLS] the cat sat on the mat [SEP] = 8 tokens.
        CollectionAssert.AreEqual(new long[] { 3, 8 }, batch.InputIds.shape);
        CollectionAssert.AreEqual(new long[] { 2, 14, 15, 19, 3, 0, 0, 0 }, batch.InputIds[0].data<long>().ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 3, 0, 0, 0, 0, 0, 0 }, batch.InputIds[2].data<long>().ToArray());
        using var hidden = encoder.Encode(batch);
        CollectionAssert.AreEqual(new long[] { 3, 8, 32 }, hidden.shape);
    }
}

[TestClass]
public sealed class ModelLayoutTests
{
    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    public void ParametersAppearOnceUnderHuggingFaceNames(string type)
    {
        var config = TransformerConfig.Tiny(100);
        config.ModelType = type;
        config.PadTokenId = 1;
        using var model = new TextClassificationModel(config, 3);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.HasCount(names.Distinct().Count(), names, "no parameter is listed twice");
        Assert.AreEqual(model.parameters().Count(), model.parameters().Select(p => p.Handle).Distinct().Count());
        Assert.IsTrue(names.All(n => !n.Contains("._", StringComparison.Ordinal)), string.Join(", ", names.Where(n => n.Contains("._"))));
        CollectionAssert.Contains(names, $"{type}.encoder.layer.1.attention.self.query.weight");
        CollectionAssert.Contains(names, $"{type}.embeddings.LayerNorm.weight");
        CollectionAssert.Contains(names, type == "bert" ? "classifier.weight" : "classifier.out_proj.weight");
        Assert.AreEqual(model.named_parameters().Count(), model.state_dict().Count);
    }
}
