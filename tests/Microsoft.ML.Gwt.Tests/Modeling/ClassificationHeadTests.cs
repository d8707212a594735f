using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class ClassificationHeadTests
{
    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    [DataRow("distilbert")]
    [DataRow("electra")]
    [DataRow("deberta-v2")]
    public void SameLabelCountLoadsTheHead(string modelType)
    {
        var config = TestCheckpoints.Config(modelType);
        manual_seed(10);
        using var source = new TextClassificationModel(config, 3);
        var folder = TestCheckpoints.WriteFolder(config, source.state_dict());
        manual_seed(11);
        using var loaded = new TextClassificationModel(config, 3);
        var report = CheckpointLoader.LoadClassifier(loaded, folder);
        Assert.IsFalse(report.ReinitializedHead);
        Assert.AreEqual(3, report.CheckpointLabelCount);
        Assert.IsEmpty(report.Lines, report.ToString());
        source.eval();
        loaded.eval();
        var (ids, mask) = TestCheckpoints.PaddedBatch(config.PadTokenId);
        using var noGrad = no_grad();
        using var expected = source.Forward(ids, mask);
        using var actual = loaded.Forward(ids, mask);
        Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(expected, actual), $"{modelType}: logits of the loaded head");
    }

    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    [DataRow("distilbert")]
    [DataRow("electra")]
    [DataRow("deberta-v2")]
    public void OtherLabelCountReinitializesTheHeadAndSaysSo(string modelType)
    {
        var config = TestCheckpoints.Config(modelType);
        manual_seed(12);
        using var source = new TextClassificationModel(config, 3);
        var folder = TestCheckpoints.WriteFolder(config, source.state_dict());
        manual_seed(13);
        using var loaded = new TextClassificationModel(config, 5);
        var before = loaded.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var report = CheckpointLoader.LoadClassifier(loaded, folder);

        Assert.IsTrue(report.ReinitializedHead);
        Assert.AreEqual(3, report.CheckpointLabelCount);
        Assert.AreEqual(5, report.ModelLabelCount);
        Assert.IsTrue(report.Lines.Any(l => l.Contains("Re-initialized the classification head", StringComparison.Ordinal) &&
            l.Contains("3 labels", StringComparison.Ordinal) && l.Contains("5", StringComparison.Ordinal)), report.ToString());
        Assert.IsEmpty(report.Unexpected, "the skipped head is reported as re-initialized, not as unused");
        var sourceWeights = source.state_dict();
        foreach (var (name, value) in loaded.state_dict())
        {
            if (loaded.HeadParameterNames.Contains(name))
            {
                Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(before[name], value), $"{modelType}: head '{name}' keeps its initialization");
            }
            else
            {
                Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(sourceWeights[name], value), $"{modelType}: encoder '{name}' loads");
            }
        }
        Assert.IsTrue(loaded.HeadParameterNames.Count >= 2, string.Join(", ", loaded.HeadParameterNames));
    }

    [TestMethod]
    public void BaseCheckpointWithoutHeadReportsTheHeadAsMissing()
    {
        var config = TestCheckpoints.Config("distilbert");
        using var encoder = TransformerEncoder.Create(config);
        var folder = TestCheckpoints.WriteFolder(config, encoder.state_dict().Select(kv => KeyValuePair.Create("distilbert." + kv.Key, kv.Value)));
        using var model = new TextClassificationModel(config, 2);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsFalse(report.ReinitializedHead);
        Assert.IsNull(report.CheckpointLabelCount);
        CollectionAssert.AreEquivalent(new[] { "pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias" }, report.Missing.ToList());
    }
}
