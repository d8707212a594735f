using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>The regression head (Hugging Face's <c>num_labels = 1</c> sequence-classification head) and its MSE loss
/// against the committed outputs of the independent PyTorch port (TestData/checkpoints/make_checkpoints_regression.py),
/// and a checkpoint with such a head fine-tuned through the trainer.</summary>
[TestClass]
public sealed class SentenceSimilarityHeadParityTests
{
    private sealed record Expected(long[][] Ids, long[][] Mask, long[][] Types, float[] Logits, float[] Labels, double Loss);

    private static Expected Read(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var root = doc.RootElement;
        long[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        float[] Floats(string name) => root.GetProperty(name).EnumerateArray().Select(v => v.GetSingle()).ToArray();
        CollectionAssert.AreEqual(new long[] { 3, 1 }, root.GetProperty("logits_shape").EnumerateArray().Select(v => v.GetInt64()).ToArray());
        return new Expected(Rows("input_ids"), Rows("attention_mask"), Rows("token_type_ids"), Floats("logits"), Floats("labels"),
            root.GetProperty("mse_loss").GetDouble());
    }

    private static Tensor Matrix(long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    [TestMethod]
    [DataRow("bert-regression-tiny")]
    [DataRow("xlm-roberta-regression-tiny")]
    [DataRow("distilbert-regression-tiny")]
    public void TheOneLabelHeadAndItsLossMatchTheReference(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var expected = Read(folder);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 1);
        var report = CheckpointLoader.LoadClassifier(model, folder);
        Assert.IsEmpty(report.Missing, report.ToString());
        Assert.IsEmpty(report.Unexpected, report.ToString());
        Assert.IsFalse(report.ReinitializedHead);
        Assert.AreEqual(1, report.CheckpointLabelCount);
        model.eval();

        using (no_grad())
        using (var ids = Matrix(expected.Ids))
        using (var mask = Matrix(expected.Mask))
        using (var types = Matrix(expected.Types))
        using (var logits = model.Forward(ids, mask, types))
        {
            CollectionAssert.AreEqual(new long[] { 3, 1 }, logits.shape);
            var ours = logits.data<float>().ToArray();
            double diff = expected.Logits.Zip(ours, (e, a) => (double)Math.Abs(e - a)).Max();
            Console.WriteLine($"{name}: max |reference - ours| logits {diff:E2}");
            Assert.IsLessThan(1e-4, diff, $"{name} logits");
        }

        // The training loss: RegressionObjective on the same rows (unpadded token ids; the batch pads them again).
        var batch = expected.Ids.Select((row, r) =>
        {
            int n = (int)expected.Mask[r].Sum();
            return (new EncodedText(row.Take(n).Select(v => (int)v).ToArray(), expected.Types[r].Take(n).Select(v => (int)v).ToArray()), expected.Labels[r]);
        }).ToList();
        var objective = new RegressionObjective(model, config.PadTokenId, CPU, validation: null, () => { });
        using (no_grad())
        using (var loss = objective.Loss(batch))
        {
            Console.WriteLine($"{name}: MSE reference {expected.Loss:F6}, ours {loss.item<float>():F6}");
            Assert.AreEqual(expected.Loss, loss.item<float>(), 1e-4 * expected.Loss, $"{name} loss");
        }
    }

    [TestMethod]
    public void FineTuningACheckpointWithARegressionHeadKeepsItsHead()
    {
        var folder = EncoderParityTests.Checkpoint("bert-regression-tiny");
        var expected = Read(folder);
        var ml = new MLContext(1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var rows = Enumerable.Range(0, 8).Select(i => new SentencePair { Label = i % 5, Sentence1 = "the movie was great", Sentence2 = i % 2 == 0 ? "a great film" : "boring" }).ToList();
        var options = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        options.PretrainedModelPath = folder;
        options.LearningRate = 1e-12; // one step that leaves the weights where the checkpoint has them
        options.MaxSequenceLength = 16;
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.IsFalse(messages.Any(m => m.Contains("Re-initialized the classification head", StringComparison.Ordinal)), string.Join("\n", messages));

        using (no_grad())
        using (var ids = Matrix(expected.Ids))
        using (var mask = Matrix(expected.Mask))
        using (var types = Matrix(expected.Types))
        using (var logits = model.Model.Forward(ids, mask, types))
        {
            var ours = logits.data<float>().ToArray();
            double diff = expected.Logits.Zip(ours, (e, a) => (double)Math.Abs(e - a)).Max();
            Assert.IsLessThan(1e-4, diff, "the trained model's head is the checkpoint's");
        }
    }

    [TestMethod]
    public void AClassifierCheckpointsHeadIsReinitializedForRegressionAndSaysSo()
    {
        var ml = new MLContext(1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var rows = Enumerable.Range(0, 8).Select(i => new SentencePair { Label = i % 5, Sentence1 = "the movie was great", Sentence2 = "boring" }).ToList();
        var options = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        options.PretrainedModelPath = EncoderParityTests.Checkpoint("bert-sharded-tiny");
        options.MaxSequenceLength = 16;
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.IsTrue(messages.Any(m => m.Contains("the checkpoint's head has 2 labels, the task has 1", StringComparison.Ordinal)), string.Join("\n", messages));
        Assert.AreEqual(1, model.Model.NumClasses);
    }
}
