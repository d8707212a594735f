using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>The span head (Hugging Face's <c>*ForQuestionAnswering</c> <c>qa_outputs</c>) and its loss against the
/// committed outputs of the independent PyTorch port (TestData/checkpoints/make_checkpoints_qa.py).</summary>
[TestClass]
public sealed class QuestionAnswerHeadParityTests
{
    private static Tensor Matrix(long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    [TestMethod]
    [DataRow("bert-qa-tiny")]
    [DataRow("xlm-roberta-qa-tiny")]
    public void TheSpanHeadsLogitsAndLossMatchTheReference(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var root = doc.RootElement;
        long[][] Rows(string key) => root.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        long[] Longs(string key) => root.GetProperty(key).EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var expected = root.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var shape = Longs("logits_shape");
        CollectionAssert.AreEqual(new long[] { 3, shape[1], 2 }, shape);

        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 2, TextHeadKind.QuestionAnswering);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsEmpty(report.Missing, report.ToString());
        Assert.IsEmpty(report.Unexpected, report.ToString());
        Assert.IsFalse(report.ReinitializedHead);
        model.eval();
        using (no_grad())
        using (var ids = Matrix(Rows("input_ids")))
        using (var mask = Matrix(Rows("attention_mask")))
        using (var types = Matrix(Rows("token_type_ids")))
        using (var logits = model.Forward(ids, mask, types))
        {
            CollectionAssert.AreEqual(shape, logits.shape);
            var ours = logits.data<float>().ToArray();
            double diff = expected.Zip(ours, (e, a) => (double)Math.Abs(e - a)).Max();
            Console.WriteLine($"{name}: max |reference - ours| logits {diff:E2}");
            Assert.IsLessThan(1e-4, diff, $"{name} logits");

            // Hugging Face's loss, positions beyond the sequence clamped and ignored.
            using var loss = QuestionAnswerObjective.SpanLoss(logits, Longs("start_positions"), Longs("end_positions"), CPU);
            double reference = root.GetProperty("qa_loss").GetDouble();
            Console.WriteLine($"{name}: loss reference {reference:F6}, ours {loss.item<float>():F6}");
            Assert.AreEqual(reference, loss.item<float>(), 1e-4 * reference, $"{name} loss");
        }
    }

    [TestMethod]
    public void ASequenceClassifierCheckpointGivesTheEncoderAndAFreshSpanHead()
    {
        var folder = EncoderParityTests.Checkpoint("bert-regression-tiny");
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 2, TextHeadKind.QuestionAnswering);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        CollectionAssert.AreEquivalent(new[] { "qa_outputs.weight", "qa_outputs.bias" }, report.Missing.ToArray(), report.ToString());
        Assert.IsTrue(report.Unexpected.Any(k => k.StartsWith("classifier", StringComparison.Ordinal)), report.ToString());
        Assert.IsTrue(report.Unexpected.Any(k => k.Contains("pooler", StringComparison.Ordinal)), "no pooler with the span head, as Hugging Face");
    }
}
