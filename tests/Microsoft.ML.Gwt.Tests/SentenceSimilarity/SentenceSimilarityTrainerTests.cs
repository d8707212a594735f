using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary><c>mlContext.Regression.Trainers.GwtSentenceSimilarity</c> end to end on a tiny from-scratch model: the float
/// <c>Score</c> column, <c>Regression.Evaluate</c> and the STS correlations, Save/Load, <c>PredictionEngine</c>, and the
/// errors for wrong columns.</summary>
[TestClass]
public sealed class SentenceSimilarityTrainerTests
{
    internal static GwtSentenceSimilarityTrainer.Options Fast(GwtOptimizerKind kind = GwtOptimizerKind.Gwt, int epochs = 2) => new()
    {
        Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
        MaxEpochs = epochs, BatchSize = 16, MaxSequenceLength = 32, Optimizer = kind, LearningRate = 1e-3, Seed = 7, LogEverySteps = 1000,
        ScoringBatchSize = 16,
    };

    private static (MLContext Ml, IDataView Train, IDataView Test) Data(int train = 240, int test = 60)
    {
        var ml = new MLContext(seed: 1);
        return (ml, ml.Data.LoadFromEnumerable(ShapesStsData.Take("train", train)), ml.Data.LoadFromEnumerable(ShapesStsData.Take("test", test)));
    }

    private static float[] Scores(IDataView scored, string column = "Score") => scored.GetColumn<float>(column).ToArray();

    [TestMethod]
    public void TrainsAFloatScoreThatRegressionEvaluateAndTheStsMetricsRead()
    {
        var (ml, train, test) = Data();
        var options = Fast();
        options.ValidationSet = test;
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(train);

        var scored = model.Transform(test);
        var score = scored.Schema["Score"];
        Assert.AreEqual(NumberDataViewType.Single, score.Type);
        ReadOnlyMemory<char> kind = default;
        score.Annotations.GetValue("ScoreColumnKind", ref kind);
        Assert.AreEqual("Regression", kind.ToString());

        var regression = ml.Regression.Evaluate(scored);
        var sts = ml.Regression.EvaluateSentenceSimilarity(scored);
        Assert.AreEqual(60, sts.Rows);
        Assert.AreEqual(regression.MeanSquaredError, sts.MeanSquaredError, 1e-4 * regression.MeanSquaredError, "the same MSE from both evaluators");
        Assert.AreEqual(regression.MeanAbsoluteError, sts.MeanAbsoluteError, 1e-4 * regression.MeanAbsoluteError);
        Assert.IsTrue(sts.PearsonCorrelation is >= -1 and <= 1, $"Pearson {sts.PearsonCorrelation}");
        Assert.IsTrue(sts.SpearmanCorrelation is >= -1 and <= 1, $"Spearman {sts.SpearmanCorrelation}");

        var result = model.TrainingResult!;
        Assert.HasCount(2, result.ValidationLoss, "one validation MSE per epoch");
        Assert.HasCount(2, result.ValidationAccuracy, "one validation Pearson per epoch");
        var labels = ShapesStsData.Take("test", 60).Select(p => p.Label).ToArray();
        var last = GwtSentenceSimilarityMetrics.Compute(labels, Scores(scored));
        Assert.AreEqual(last.MeanSquaredError, result.ValidationLoss[^1], 1e-4, "validation loss = MSE of the final model on the validation set");
        Assert.AreEqual(last.PearsonCorrelation, result.ValidationAccuracy[^1], 1e-4, "validation score = Pearson of the final model");
    }

    [TestMethod]
    public void TrainingLowersTheMeanSquaredError()
    {
        var (ml, train, _) = Data();
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 3)).Fit(train);
        var losses = model.TrainingResult!.TrainingLoss;
        double first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
        Console.WriteLine($"training MSE {first:F3} -> {last:F3}");
        // The head starts near 0 against labels of mean ~1.9 (MSE ~6); predicting the mean gives their variance (~2.5).
        Assert.IsLessThan(first / 2, last, $"training MSE {first} -> {last}");
    }

    [TestMethod]
    public void EstimatorSchemaIsTheTransformersSchema()
    {
        var (ml, train, test) = Data(64, 8);
        var estimator = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1));
        var shape = estimator.GetOutputSchema(Trainers.LabelTypesTests.ShapeOf(train.Schema));
        var promised = shape.Single(c => c.Name == "Score");
        Assert.AreEqual(NumberDataViewType.Single, promised.ItemType);
        Assert.AreEqual(SchemaShape.Column.VectorKind.Scalar, promised.Kind);
        Assert.IsFalse(promised.IsKey);
        using var model = estimator.Fit(train);
        var produced = model.GetOutputSchema(test.Schema);
        Assert.AreEqual(test.Schema.Count + 1, produced.Count);
        Assert.AreEqual(promised.ItemType, produced["Score"].Type);
        CollectionAssert.AreEquivalent(promised.Annotations.Select(a => a.Name).ToArray(), produced["Score"].Annotations.Schema.Select(c => c.Name).ToArray());
    }

    [TestMethod]
    public void SavedModelLoadsAndScoresTheSameAndPredictionEngineAgrees()
    {
        var (ml, train, test) = Data(96, 40);
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1)).Fit(train);
        var expected = Scores(model.Transform(test));
        var direct = model.Predict(ShapesStsData.Take("test", 40).Select(p => (string?)p.Sentence1).ToList(),
            ShapesStsData.Take("test", 40).Select(p => (string?)p.Sentence2).ToList());
        CollectionAssert.AreEqual(expected, direct, "Predict scores as Transform does");

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        stream.Position = 0;
        var fresh = new MLContext(seed: 5);
        var loaded = fresh.Model.Load(stream, out _);
        Assert.IsInstanceOfType<GwtSentenceSimilarityTransformer>(loaded);
        CollectionAssert.AreEqual(expected, Scores(loaded.Transform(test)), "the loaded model gives the same scores, bit for bit");

        var engine = fresh.Model.CreatePredictionEngine<SentencePair, SimilarityPrediction>(loaded);
        var pairs = ShapesStsData.Take("test", 5);
        for (int i = 0; i < pairs.Count; i++)
        {
            Assert.AreEqual(expected[i], engine.Predict(pairs[i]).Score, 1e-4f, $"row {i}");
        }
        ((IDisposable)loaded).Dispose();
    }

    [TestMethod]
    public void ADamagedWeightsPartIsAnErrorNamingIt()
    {
        var (ml, train, _) = Data(64, 8);
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1)).Fit(train);
        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        var bytes = stream.ToArray();
        // Flip one byte inside the stored (not compressed) weights entry: rewrite the zip with the entry's data changed.
        using var damaged = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
        using (var target = new ZipArchive(damaged, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                using var input = entry.Open();
                using var copy = new MemoryStream();
                input.CopyTo(copy);
                var data = copy.ToArray();
                if (entry.FullName.EndsWith("Weights", StringComparison.Ordinal))
                {
                    data[data.Length / 2] ^= 0x40;
                }
                using var output = target.CreateEntry(entry.FullName).Open();
                output.Write(data);
            }
        }
        damaged.Position = 0;
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => GwtModelLoader.Load(new MLContext(1), damaged, out _));
        StringAssert.Contains(ex.Message, "'Weights'");
    }

    [TestMethod]
    public void WrongColumnTypesAreErrorsNamingTheColumn()
    {
        var ml = new MLContext(1);
        var trainer = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1));

        var stringLabel = ml.Data.LoadFromEnumerable(new[] { new { Label = "4.5", Sentence1 = "a", Sentence2 = "b" } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(stringLabel));
        Assert.AreEqual("Label", ex.ParamName);
        StringAssert.Contains(ex.Message, "'Label'");
        StringAssert.Contains(ex.Message, "expected Single");
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(Trainers.LabelTypesTests.ShapeOf(stringLabel.Schema)));
        Assert.AreEqual("Label", ex.ParamName);

        var keyLabel = ml.Transforms.Conversion.MapValueToKey("Label").Fit(stringLabel).Transform(stringLabel);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(keyLabel));
        StringAssert.Contains(ex.Message, "'Label'");

        var numberText = ml.Data.LoadFromEnumerable(new[] { new { Label = 1f, Sentence1 = "a", Sentence2 = 2f } });
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(numberText));
        Assert.AreEqual("Sentence2", ex.ParamName);
        StringAssert.Contains(ex.Message, "'Sentence2'");

        var noSecond = ml.Data.LoadFromEnumerable(new[] { new { Label = 1f, Sentence1 = "a" } });
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(noSecond));
        Assert.AreEqual("Sentence2", ex.ParamName);
        StringAssert.Contains(ex.Message, "Could not find text column 'Sentence2'");

        var options = Fast(epochs: 1);
        options.ValidationSet = stringLabel;
        var (_, train, _) = Data(32, 4);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(train));
        Assert.AreEqual("Label", ex.ParamName, "the validation set's label is checked too");
    }

    [TestMethod]
    public void TheTrainedModelRefusesInputWithoutItsTextColumns()
    {
        var (ml, train, _) = Data(48, 4);
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1)).Fit(train);
        var noSecond = ml.Data.LoadFromEnumerable(new[] { new { Sentence1 = "the red cube is above the blue ball" } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(noSecond));
        Assert.AreEqual("Sentence2", ex.ParamName);
        var numberText = ml.Data.LoadFromEnumerable(new[] { new { Sentence1 = 1f, Sentence2 = "x" } });
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.GetOutputSchema(numberText.Schema));
        Assert.AreEqual("Sentence1", ex.ParamName);
    }

    [TestMethod]
    public void ConstantOrMissingLabelsAreRefusedByName()
    {
        var ml = new MLContext(1);
        var trainer = ml.Regression.Trainers.GwtSentenceSimilarity(Fast(epochs: 1));
        var constant = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 8).Select(i => new SentencePair { Label = 3f, Sentence1 = $"a {i}", Sentence2 = "b" }).ToList());
        var ex = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(constant));
        StringAssert.Contains(ex.Message, "'Label'");
        var missing = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 8).Select(i => new SentencePair { Label = float.NaN, Sentence1 = $"a {i}", Sentence2 = "b" }).ToList());
        ex = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(missing));
        StringAssert.Contains(ex.Message, "'Label'");
    }

    [TestMethod]
    public void RowsWithANaNLabelAreSkippedNotTrainedOn()
    {
        var ml = new MLContext(1);
        var rows = ShapesStsData.Take("train", 48);
        var withNaN = rows.Concat(new[] { new SentencePair { Label = float.NaN, Sentence1 = "x", Sentence2 = "y" } }).ToList();
        var o1 = Fast(epochs: 1);
        o1.ShuffleBufferSize = 1;
        o1.GroupByLength = false;
        var o2 = Fast(epochs: 1);
        o2.ShuffleBufferSize = 1;
        o2.GroupByLength = false;
        using var a = ml.Regression.Trainers.GwtSentenceSimilarity(o1).Fit(ml.Data.LoadFromEnumerable(rows));
        using var b = ml.Regression.Trainers.GwtSentenceSimilarity(o2).Fit(ml.Data.LoadFromEnumerable(withNaN));
        CollectionAssert.AreEqual(a.TrainingResult!.TrainingLoss, b.TrainingResult!.TrainingLoss, "the NaN row changes nothing");
    }
}
