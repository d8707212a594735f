using Microsoft.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>What the classifier's training options do, for sentence similarity: pretrained starts of every family, AdamW,
/// streaming, precision, checkpoint folders.</summary>
[TestClass]
public sealed class SentenceSimilarityTrainingOptionsTests
{
    private static List<SentencePair> Words(int n) => Enumerable.Range(0, n).Select(i => new SentencePair
    {
        Label = i % 6, Sentence1 = "the movie was great and fun", Sentence2 = i % 3 == 0 ? "a great film" : i % 3 == 1 ? "boring story" : "the movie was great",
    }).ToList();

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("bert-sharded-tiny")]
    public void FineTunesEveryCheckpointFamilyOnSentencePairs(string name)
    {
        var ml = new MLContext(1);
        var options = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        options.PretrainedModelPath = EncoderParityTests.Checkpoint(name);
        options.MaxSequenceLength = 24;
        options.BatchSize = 8;
        var data = ml.Data.LoadFromEnumerable(Words(16));
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(data);
        Assert.AreEqual(CheckpointLoaderConfigType(name), model.Config.ModelType);
        var scores = model.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.HasCount(16, scores);
        Assert.IsTrue(scores.All(float.IsFinite));
        Assert.IsTrue(model.TrainingResult!.TrainingLoss.All(double.IsFinite));
        Assert.IsGreaterThan(1, scores.Distinct().Count(), "the pair changes the score");
    }

    private static string CheckpointLoaderConfigType(string name) =>
        Microsoft.ML.Gwt.Modeling.CheckpointLoader.ReadConfig(EncoderParityTests.Checkpoint(name)).ModelType;

    [TestMethod]
    public void StreamedFitTrainsTheSameModelAsACachedOne()
    {
        var ml = new MLContext(1);
        var rows = ShapesStsData.Take("train", 64);
        var cached = SentenceSimilarityTrainerTests.Fast(epochs: 2);
        var streamed = SentenceSimilarityTrainerTests.Fast(epochs: 2);
        streamed.MaxCachedRows = 0;
        using var a = ml.Regression.Trainers.GwtSentenceSimilarity(cached).Fit(ml.Data.LoadFromEnumerable(rows));
        using var b = ml.Regression.Trainers.GwtSentenceSimilarity(streamed).Fit(ml.Data.LoadFromEnumerable(rows));
        CollectionAssert.AreEqual(a.TrainingResult!.TrainingLoss, b.TrainingResult!.TrainingLoss);
    }

    [TestMethod]
    public void AdamWAndGwtBothTrainAndGwtKeepsLessOptimizerState()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ShapesStsData.Take("train", 64));
        using var gwt = ml.Regression.Trainers.GwtSentenceSimilarity(SentenceSimilarityTrainerTests.Fast(GwtOptimizerKind.Gwt, 1)).Fit(data);
        using var adamw = ml.Regression.Trainers.GwtSentenceSimilarity(SentenceSimilarityTrainerTests.Fast(GwtOptimizerKind.AdamW, 1)).Fit(data);
        Assert.IsLessThan(adamw.TrainingResult!.OptimizerStateBytes, gwt.TrainingResult!.OptimizerStateBytes);
        CollectionAssert.AreNotEqual(gwt.TrainingResult.TrainingLoss, adamw.TrainingResult.TrainingLoss);
    }

    [TestMethod]
    public void BFloat16ScoringStaysCloseToFloat32AndTheSavedPrecisionRoundTrips()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ShapesStsData.Take("train", 32));
        var options = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        options.SaveWeightsAsBFloat16 = true;
        using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(data);
        var f32 = model.Transform(data).GetColumn<float>("Score").ToArray();
        model.ScoringPrecision = GwtPrecision.BFloat16;
        var bf16 = model.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.AreEqual(TorchSharp.torch.ScalarType.BFloat16, model.ScoringComputeType);
        Assert.IsLessThan(0.1, f32.Zip(bf16, (x, y) => Math.Abs(x - y)).Max(), "bfloat16 scores near the float32 ones");
        CollectionAssert.AreNotEqual(f32, bf16, "bfloat16 was used");

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        using var loaded = (GwtSentenceSimilarityTransformer)new MLContext(2).Model.Load(stream, out _);
        Assert.AreEqual(GwtPrecision.BFloat16, loaded.ScoringPrecision, "the scoring precision is saved");
        Assert.IsTrue(loaded.Options.BFloat16Weights);
    }

    [TestMethod]
    public void ACheckpointFolderResumesAFinishedRunAndRefusesAClassifiersFolder()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ShapesStsData.Take("train", 32));
        var folder = Directory.CreateTempSubdirectory("gwt-sts-ckpt-").FullName;
        var options = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        options.CheckpointFolder = folder;
        using var first = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(data);
        using var again = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(data);
        Assert.IsTrue(again.TrainingResult!.Resumed);
        CollectionAssert.AreEqual(first.Transform(data).GetColumn<float>("Score").ToArray(), again.Transform(data).GetColumn<float>("Score").ToArray());

        var other = SentenceSimilarityTrainerTests.Fast(epochs: 1);
        other.CheckpointFolder = folder;
        other.LearningRate = 2e-3;
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.GwtSentenceSimilarity(other).Fit(data));
        StringAssert.Contains(ex.Message, "LearningRate");
    }
}
