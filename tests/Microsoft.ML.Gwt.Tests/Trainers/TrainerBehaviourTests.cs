using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

[TestClass]
public sealed class TrainerBehaviourTests
{
    private static ITransformer? _model;
    private static MLContext? _ml;
    private static IDataView? _test;

    /// <summary>One small model shared by the tests that only score.</summary>
    internal static (MLContext Ml, ITransformer Model, IDataView Test) Trained()
    {
        if (_model is null)
        {
            var (ml, train, test, map) = TrainerTests.Data(trainPerClass: 60, testPerClass: 20);
            var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
            o.MaxEpochs = 1;
            _model = map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train);
            _ml = ml;
            _test = test;
        }
        return (_ml!, _model, _test!);
    }

    private static float[][] Scores(MLContext ml, ITransformer model, IDataView data) =>
        model.Transform(data).GetColumn<float[]>("Score").ToArray();

    [TestMethod]
    public void SaveAndLoadInAFreshContextGiveIdenticalScores()
    {
        var (ml, model, test) = Trained();
        var path = Path.Combine(Path.GetTempPath(), $"gwt-{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, test.Schema, path);

        var fresh = new MLContext(seed: 5).RegisterGwtComponents();
        var loaded = fresh.Model.Load(path, out var schema);
        var before = Scores(ml, model, test);
        var after = Scores(fresh, loaded, fresh.Data.LoadFromEnumerable(SpamData.Take("test", 20, "ham", "spam")));
        Assert.HasCount(before.Length, after);
        for (int i = 0; i < before.Length; i++)
        {
            CollectionAssert.AreEqual(before[i], after[i], $"row {i}");
        }
        Assert.IsTrue(before.All(s => Math.Abs(s.Sum() - 1) < 1e-4), "scores are probabilities");
    }

    [TestMethod]
    public void AFreshContextLoadsWithoutAnyRegistrationCall()
    {
        var (ml, model, test) = Trained();
        var path = Path.Combine(Path.GetTempPath(), $"gwt-{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, test.Schema, path);
        var fresh = new MLContext(seed: 6);
        var loaded = fresh.Model.Load(path, out _);
        var before = Scores(ml, model, test);
        var after = Scores(fresh, loaded, test);
        for (int i = 0; i < before.Length; i++)
        {
            CollectionAssert.AreEqual(before[i], after[i], $"row {i}");
        }
    }

    [TestMethod]
    public void PredictionEngineMatchesBatchScoringAndMapsLabels()
    {
        var (ml, model, test) = Trained();
        var withLabels = model.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(model.Transform(test)));
        var engine = ml.Model.CreatePredictionEngine<Email, Prediction>(withLabels);
        var emails = SpamData.Take("test", 20, "ham", "spam");
        var batch = Scores(ml, model, test);
        for (int i = 0; i < 5; i++)
        {
            var p = engine.Predict(emails[i]);
            Assert.Contains(p.PredictedLabel, new[] { "ham", "spam" });
            for (int k = 0; k < batch[i].Length; k++)
            {
                Assert.AreEqual(batch[i][k], p.Score[k], 1e-5f, $"row {i} class {k}");
            }
        }
    }

    [TestMethod]
    public void EvaluateAgreesWithAccuracyAndLogLossComputedFromTheScores()
    {
        var (ml, model, test) = Trained();
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var labels = scored.GetColumn<uint>("Label").ToArray(); // keys: 1 = ham, 2 = spam (training order)
        double correct = 0, logLoss = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            int best = Array.IndexOf(scores[i], scores[i].Max());
            correct += best + 1 == labels[i] ? 1 : 0;
            logLoss -= Math.Log(Math.Max(scores[i][labels[i] - 1], 1e-15));
        }
        Console.WriteLine($"accuracy {metrics.MicroAccuracy:F4}, log-loss {metrics.LogLoss:F4}");
        Assert.AreEqual(correct / scores.Length, metrics.MicroAccuracy, 1e-12, "micro accuracy = share of rows whose top score is the label");
        Assert.AreEqual(logLoss / scores.Length, metrics.LogLoss, 1e-5, "log-loss = mean -ln p(label)");
        Assert.AreEqual(2, metrics.PerClassLogLoss.Count);
    }

    [TestMethod]
    public void TransformIsLazy()
    {
        var (ml, model, _) = Trained();
        var gwt = (GwtTextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var source = new CountingRows(SpamData.Take("test", 20, "ham", "spam"));
        long before = gwt.ScoredRows;
        var scored = model.Transform(ml.Data.LoadFromEnumerable(source));
        Assert.AreEqual(0, source.Reads, "Transform reads nothing");
        Assert.HasCount(40, scored.GetColumn<string>("Text").ToArray());
        Assert.AreEqual(before, gwt.ScoredRows, "reading only an input column scores nothing");
        Assert.HasCount(40, scored.GetColumn<float[]>("Score").ToArray());
        Assert.AreEqual(before + 40, gwt.ScoredRows, "reading the scores scores each row once");
    }

    [TestMethod]
    public void MissingAndMistypedColumnsAreNamed()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(SpamData.Take("train", 5, "ham", "spam"));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var noColumn = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Body").Fit(keyed));
        StringAssert.Contains(noColumn.Message, "'Body'");
        var notKey = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Text").Fit(data));
        StringAssert.Contains(notKey.Message, "Schema mismatch for label column 'Label'");
        var notText = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Label").Fit(keyed));
        StringAssert.Contains(notText.Message, "expected String");
    }

    [TestMethod]
    public void EmptyDataAndSingleClassAreClearErrors()
    {
        var ml = new MLContext(1);
        var map = ml.Transforms.Conversion.MapValueToKey("Label");
        var one = ml.Data.LoadFromEnumerable(SpamData.Take("train", 5, "ham"));
        var ex = Assert.ThrowsExactly<ArgumentException>(() =>
            map.Append(ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Text")).Fit(one));
        StringAssert.Contains(ex.Message, "at least 2");
        var two = ml.Data.LoadFromEnumerable(SpamData.Take("train", 5, "ham", "spam"));
        var keyed = map.Fit(two);
        var empty = keyed.Transform(ml.Data.LoadFromEnumerable(new List<Email>()));
        var trainer = ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Text");
        Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(empty));
    }

    [TestMethod]
    public void InvalidOptionsAreRejectedByName()
    {
        var ml = new MLContext(1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(batchSize: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options { LearningRate = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options { LearningRate = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options { GwtAlpha = 0 }));
        var level = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options { GwtLevel = 99 }));
        StringAssert.Contains(level.Message, "GwtLevel");
    }

    [TestMethod]
    public void UnseenLabelsAreSkippedNotCrashing()
    {
        // Labels the key mapping never saw become key 0 ("missing"): ML.NET's own trainer underflows on them.
        var ml = new MLContext(1);
        var train = SpamData.Take("train", 30, "ham", "spam");
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
        train.AddRange(SpamData.Take("train", 5, "hard_ham"));
        var data = map.Transform(ml.Data.LoadFromEnumerable(train));
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var model = ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
        Assert.IsTrue(messages.Any(m => m.Contains("Skipped 5 training row(s)")), "a warning names the skipped rows");
        Assert.AreEqual(2, model.NumClasses);
    }

    [TestMethod]
    public void LogReportsStepsStateBytesAndValidationAccuracy()
    {
        var (ml, train, test, map) = TrainerTests.Data(trainPerClass: 40, testPerClass: 10);
        var keyed = map.Fit(train);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        o.LogEverySteps = 1;
        o.ValidationSet = keyed.Transform(test);
        var lines = new List<string>();
        ml.Log += (_, e) => { lock (lines) lines.Add(e.Message); };
        var model = ml.MulticlassClassification.Trainers.Gwt(o).Fit(keyed.Transform(train));
        Assert.IsTrue(lines.Any(l => l.Contains("step 1/") && l.Contains("optimizer state") && l.Contains("examples/s")));
        Assert.IsTrue(lines.Any(l => l.Contains("validation loss") && l.Contains("over 20 rows")));
        Assert.HasCount(1, model.TrainingResult!.ValidationAccuracy);
    }
}
