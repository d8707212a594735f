using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>Fine-tuning checkpoints of every family through <c>GwtNamedEntityRecognition</c>: a checkpoint with a
/// 5-label token-classification head keeps it when the data has 5 tags, any other gets a fresh head.</summary>
[TestClass]
public sealed class NamedEntityRecognitionCheckpointTests
{
    private static readonly string[] Words = { "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "it" };

    /// <summary>Sentences tagged with the fixtures' five labels (O, B-PER, I-PER, B-LOC, I-LOC), every tag present.</summary>
    private static IDataView Data(MLContext ml, int rows = 24)
    {
        var random = new Random(5);
        var tags = new[] { "O", "B-PER", "I-PER", "B-LOC", "I-LOC" };
        var data = Enumerable.Range(0, rows).Select(r =>
        {
            int n = 3 + r % 5;
            return new TaggedSentence
            {
                Sentence = string.Join(" ", Enumerable.Range(0, n).Select(_ => Words[random.Next(Words.Length)])),
                Tags = Enumerable.Range(0, n).Select(i => tags[(r + i) % tags.Length]).ToArray(),
            };
        }).ToList();
        var view = ml.Data.LoadFromEnumerable(data);
        // Keys in the fixtures' label order (id2label), so a kept head's outputs keep their meaning.
        var order = ml.Data.LoadFromEnumerable(new[] { new TaggedSentence { Tags = tags } });
        return ml.Transforms.Conversion.MapValueToKey("Label", nameof(TaggedSentence.Tags))
            .Fit(order).Transform(view);
    }

    private static GwtNamedEntityRecognitionTrainer.Options Options(string folder, double lr) => new()
    {
        PretrainedModelPath = folder, MaxEpochs = 1, BatchSize = 8, LearningRate = lr, Seed = 3, Precision = GwtPrecision.Float32,
        LogEverySteps = 1000, WeightDecay = 0,
    };

    [TestMethod]
    [DataRow("bert-token-tiny", true)]
    [DataRow("xlm-roberta-token-tiny", true)]
    [DataRow("distilbert-token-tiny", true)]
    [DataRow("electra-tiny", false)]
    [DataRow("deberta-v3-tiny", false)]
    [DataRow("roberta-tiny", false)]
    public void EveryFamilyFineTunesAndATokenHeadIsKept(string name, bool hasTokenHead)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var ml = new MLContext(seed: 1);
        var data = Data(ml);
        // A learning rate of 1e-9: one epoch leaves every weight where the checkpoint (or the fresh head) put it.
        using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Options(folder, 1e-9)).Fit(data);
        Assert.IsTrue(model.Model.HeadKind == TextHeadKind.TokenClassification);
        Assert.IsGreaterThan(0, model.TrainingResult!.Steps);
        var keys = model.Transform(data).GetColumn<VBuffer<uint>>("PredictedLabel").ToList();
        Assert.HasCount(24, keys);

        var config = CheckpointLoader.ReadConfig(folder);
        using var reference = new TextClassificationModel(config, 5, TextHeadKind.TokenClassification);
        var report = CheckpointLoader.LoadClassifier(reference, folder);
        var trained = model.Model.state_dict()["classifier.weight"];
        var loaded = reference.state_dict()["classifier.weight"];
        double diff = (trained - loaded).abs().max().item<float>();
        if (hasTokenHead)
        {
            Assert.IsEmpty(report.Missing, report.ToString());
            Assert.IsLessThan(1e-5, diff, $"{name}: the checkpoint's 5-label token head is kept");
        }
        else
        {
            // No classifier.weight (ELECTRA's and RoBERTa's heads are classifier.dense/out_proj), or a sequence head's of another label count (DeBERTa).
            Assert.IsTrue(report.Missing.Contains("classifier.weight") || report.ReinitializedHead, report.ToString());
            Assert.IsGreaterThan(1e-3, diff, $"{name}: no token head in the checkpoint: a fresh one");
        }
    }

    [TestMethod]
    public void FineTuningAPretrainedTokenHeadLowersTheLoss()
    {
        var folder = EncoderParityTests.Checkpoint("bert-token-tiny");
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 48);
        var options = Options(folder, 5e-3);
        options.MaxEpochs = 3;
        options.ValidationSet = data;
        using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(options).Fit(data);
        var losses = model.TrainingResult!.ValidationLoss;
        Assert.IsLessThan(losses[0], losses[^1], $"validation losses {string.Join(", ", losses)}");
    }
}
