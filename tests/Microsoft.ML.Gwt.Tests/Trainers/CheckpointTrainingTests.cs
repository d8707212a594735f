using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

public sealed class Pair
{
    public string Label { get; set; } = "";
    public string First { get; set; } = "";
    public string Second { get; set; } = "";
}

[TestClass]
public sealed class CheckpointTrainingTests
{
    private static List<Pair> Pairs(int n) => Enumerable.Range(0, n).Select(i => new Pair
    {
        Label = i % 2 == 0 ? "same" : "different",
        First = i % 2 == 0 ? "the cat sat on the mat" : "hello world !",
        Second = i % 2 == 0 ? "the cat sat" : "the dog runs",
    }).ToList();

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    public void FineTunesALocalCheckpointOnSentencePairsAndRoundTrips(string checkpoint)
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Pairs(64));
        var o = new GwtTextClassificationTrainer.Options
        {
            Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
            Sentence1ColumnName = "First", Sentence2ColumnName = "Second", PretrainedModelPath = EncoderParityTests.Checkpoint(checkpoint),
            MaxEpochs = 8, BatchSize = 8, MaxSequenceLength = 24, LearningRate = 2e-3, Seed = 3, GwtLevel = 2,
        };
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.IsGreaterThan(0.9, metrics.MicroAccuracy, $"{checkpoint}: {metrics.MicroAccuracy}");

        var path = Path.Combine(Path.GetTempPath(), $"gwt-{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext(9).RegisterGwtComponents().Model.Load(path, out _);
        var a = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        var b = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            CollectionAssert.AreEqual(a[i], b[i]);
        }
    }

    [TestMethod]
    public void DamagedCheckpointIsReportedNotLoaded()
    {
        var ml = new MLContext(1);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(Pairs(16))).Transform(ml.Data.LoadFromEnumerable(Pairs(16)));
        var folder = Directory.CreateTempSubdirectory("gwt-ckpt-").FullName;
        var o = new GwtTextClassificationTrainer.Options
        {
            Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
            Sentence1ColumnName = "First", MaxEpochs = 1, BatchSize = 8, MaxSequenceLength = 16, Seed = 3, CheckpointFolder = folder,
        };
        ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
        var latest = Path.Combine(folder, File.ReadAllText(Path.Combine(folder, "latest")).Trim());
        var weights = Path.Combine(latest, "weights.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(data));
        StringAssert.Contains(ex.Message, "weights.safetensors");

        o.Seed = 4; // other options: the folder belongs to another run
        File.WriteAllBytes(weights, bytes);
        var other = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(data));
        StringAssert.Contains(other.Message, "Seed (checkpoint: 3; now: 4)");
    }

    [TestMethod]
    public void GwtLevelTooHighForTheModelNamesTheParameterShape()
    {
        var ml = new MLContext(1);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(Pairs(8))).Transform(ml.Data.LoadFromEnumerable(Pairs(8)));
        var o = new GwtTextClassificationTrainer.Options { Sentence1ColumnName = "First", MaxEpochs = 1, GwtLevel = 8 }; // 2^8 > 128 (tiny hidden size)
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(data));
        Assert.AreEqual("GwtLevel", ex.ParamName);
        StringAssert.Contains(ex.Message, "at least 256");
        StringAssert.Contains(ex.Message, "'bert.encoder.layer.0.attention.self.query.weight'"); // the first compressed weight
        StringAssert.Contains(ex.Message, "shape [128, 128]");
        StringAssert.Contains(ex.Message, "GwtLevel <= 7");
        Assert.AreEqual(1, System.Text.RegularExpressions.Regex.Count(ex.Message, "Actual value was 8"), ex.Message);
    }

    [TestMethod]
    public void UnseenLabelsAtPredictionTimeStillScore()
    {
        // Rows whose label the key mapping never saw (key 0) score like any row: the label plays no part in scoring.
        var (ml, model, _) = TrainerBehaviourTests.Trained();
        var gwt = (GwtTextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var rows = SpamData.Take("test", 5, "hard_ham"); // a label the model never saw
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var labels = scored.GetColumn<uint>("Label").ToArray();
        var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var expected = gwt.Predict(rows.Select(r => (string?)r.Text).ToList());
        Assert.HasCount(5, scores);
        CollectionAssert.AreEqual(new uint[5], labels, "the unseen label is the missing key 0");
        for (int i = 0; i < rows.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], scores[i], $"row {i}: the score of its text");
            Assert.AreEqual((uint)Array.IndexOf(scores[i], scores[i].Max()) + 1, predicted[i], $"row {i}: a trained class");
        }
    }
}
