using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>The token-classification head (Hugging Face's <c>*ForTokenClassification</c>) and its cross-entropy with
/// ignored positions against the committed outputs of the independent PyTorch port
/// (TestData/checkpoints/make_checkpoints_token_classification.py).</summary>
[TestClass]
public sealed class NamedEntityRecognitionHeadParityTests
{
    private sealed record Expected(long[][] Ids, long[][] Mask, long[][] Types, float[] Logits, long[] LogitsShape, long[][] Labels, double Loss);

    private static Expected Read(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var root = doc.RootElement;
        long[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        return new Expected(Rows("input_ids"), Rows("attention_mask"), Rows("token_type_ids"),
            root.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
            root.GetProperty("logits_shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(), Rows("labels"), root.GetProperty("ce_loss").GetDouble());
    }

    private static Tensor Matrix(long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    [TestMethod]
    [DataRow("bert-token-tiny")]
    [DataRow("xlm-roberta-token-tiny")]
    [DataRow("distilbert-token-tiny")]
    public void TheTokenHeadAndItsLossMatchTheReference(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var expected = Read(folder);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 5, TextHeadKind.TokenClassification);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsEmpty(report.Missing, report.ToString());
        Assert.IsEmpty(report.Unexpected, report.ToString());
        Assert.IsFalse(report.ReinitializedHead);
        Assert.AreEqual(5, report.CheckpointLabelCount);
        Assert.IsFalse(model.Encoder.HasPooler, "Hugging Face's token classifiers have no pooler");
        model.eval();

        using var noGrad = no_grad();
        using var ids = Matrix(expected.Ids);
        using var mask = Matrix(expected.Mask);
        using var types = Matrix(expected.Types);
        using var logits = model.Forward(ids, mask, types);
        CollectionAssert.AreEqual(expected.LogitsShape, logits.shape);
        var ours = logits.data<float>().ToArray();
        double diff = expected.Logits.Zip(ours, (e, a) => (double)Math.Abs(e - a)).Max();
        Console.WriteLine($"{name}: max |reference - ours| logits {diff:E2}");
        Assert.IsLessThan(1e-4, diff, $"{name} logits");

        using var labels = Matrix(expected.Labels);
        using var loss = Microsoft.ML.Gwt.Trainers.TokenClassificationObjective.TokenLoss(logits, labels);
        Assert.AreEqual(expected.Loss, loss.item<float>(), 1e-4, $"{name} loss");
    }

    [TestMethod]
    public void ASequenceClassifierCheckpointGivesAFreshTokenHead()
    {
        // xlm-roberta-regression-tiny has a sequence-classification head (classifier.dense, classifier.out_proj): no classifier.weight.
        var folder = EncoderParityTests.Checkpoint("xlm-roberta-regression-tiny");
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 3, TextHeadKind.TokenClassification);
        var before = model.state_dict()["classifier.weight"].clone();
        var report = CheckpointLoader.LoadClassifier(model, folder);
        CollectionAssert.Contains(report.Missing.ToList(), "classifier.weight");
        Assert.IsTrue(report.Unexpected.Any(k => k.StartsWith("classifier.out_proj", StringComparison.Ordinal)), report.ToString());
        Assert.IsTrue(before.equal(model.state_dict()["classifier.weight"]).all().item<bool>(), "the fresh head keeps its initialization");
    }
}
