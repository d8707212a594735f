using Microsoft.ML;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Early stopping, the best epoch's weights across a resume, finished runs, and the resume fingerprint.</summary>
[TestClass]
public sealed class EarlyStoppingAndResumeTests
{
    private sealed class Interrupted : Exception
    {
    }

    private static GwtTextClassificationTrainer.Options EarlyStopping(IDataView validation, string? folder = null)
    {
        var o = TrainingLoopTests.Options();
        o.BatchSize = 5; // 2 steps per epoch
        o.MaxEpochs = 10;
        o.EarlyStoppingPatience = 2;
        o.ValidationSet = validation; // accuracy 0.5 whatever the weights: epoch 1 stays the best
        o.CheckpointFolder = folder;
        o.CheckpointEverySteps = 1;
        return o;
    }

    [TestMethod]
    public void EarlyStoppingStopsAfterPatienceEpochsAndKeepsTheBestEpochsWeights()
    {
        var (ml, train, validation) = TrainingLoopTests.PairDataWithConstantAccuracyValidation(10);
        var snapshots = new List<Dictionary<string, float[]>>();
        var model = TrainingLoopTests.Train(ml, train, EarlyStopping(validation), afterValidation: v => snapshots.Add(TrainingLoopTests.Weights(v.Model)));
        var r = model.TrainingResult!;
        Assert.IsTrue(r.StoppedEarly);
        CollectionAssert.AreEqual(new[] { 0.5, 0.5, 0.5 }, r.ValidationAccuracy, "3 epochs: the best, then 2 without improvement");
        Assert.AreEqual(6, r.Steps);
        var final = TrainingLoopTests.Weights(model.Model);
        AssertSameWeights(snapshots[0], final, "the best (first) epoch's weights are kept");
        Assert.IsFalse(snapshots[2].All(kv => kv.Value.SequenceEqual(final[kv.Key])), "the last epoch's weights differ from the kept ones");

        var o = EarlyStopping(validation);
        o.EarlyStoppingPatience = 0;
        o.MaxEpochs = 4;
        var all = TrainingLoopTests.Train(ml, train, o).TrainingResult!;
        Assert.IsFalse(all.StoppedEarly);
        Assert.HasCount(4, all.ValidationAccuracy, "patience 0: every epoch runs");
    }

    [TestMethod]
    public void ARunInterruptedAfterItsBestEpochResumesToTheBestEpochsWeights()
    {
        var (ml, train, validation) = TrainingLoopTests.PairDataWithConstantAccuracyValidation(10);
        var uninterrupted = TrainingLoopTests.Weights(TrainingLoopTests.Train(ml, train, EarlyStopping(validation)).Model);

        var folder = Directory.CreateTempSubdirectory("gwt-best-").FullName;
        // Interrupted in epoch 3 (step 6 of 2-step epochs), after a mid-epoch checkpoint: epoch 1 is the best.
        Assert.ThrowsExactly<Interrupted>(() => TrainingLoopTests.Train(ml, train, EarlyStopping(validation, folder),
            s => { if (s.Step == 5) throw new Interrupted(); }));
        StringAssert.StartsWith(File.ReadAllText(Path.Combine(folder, "latest")), "step-000000005-e0002", "resumes mid-epoch 3");

        var resumed = TrainingLoopTests.Train(ml, train, EarlyStopping(validation, folder));
        Assert.IsTrue(resumed.TrainingResult!.Resumed);
        Assert.IsTrue(resumed.TrainingResult.StoppedEarly);
        Assert.AreEqual(6, resumed.TrainingResult.Steps);
        AssertSameWeights(uninterrupted, TrainingLoopTests.Weights(resumed.Model), "the resumed run keeps the best epoch's weights");
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(0)]
    public void AFinishedRunIsReturnedWithoutTrainingAgain(int patience)
    {
        var (ml, train, validation) = TrainingLoopTests.PairDataWithConstantAccuracyValidation(10);
        var folder = Directory.CreateTempSubdirectory("gwt-finished-").FullName;
        var o = EarlyStopping(validation, folder);
        o.EarlyStoppingPatience = patience;
        o.MaxEpochs = 4;
        var first = TrainingLoopTests.Train(ml, train, o);
        int steps = 0;
        var second = TrainingLoopTests.Train(ml, train, o, _ => steps++);
        Assert.AreEqual(0, steps, "no optimizer step in the second run");
        Assert.IsTrue(second.TrainingResult!.Resumed);
        Assert.AreEqual(first.TrainingResult!.Steps, second.TrainingResult.Steps);
        Assert.AreEqual(first.TrainingResult.StoppedEarly, second.TrainingResult.StoppedEarly);
        Assert.AreEqual(patience > 0, second.TrainingResult.StoppedEarly);
        CollectionAssert.AreEqual(first.TrainingResult.ValidationAccuracy, second.TrainingResult.ValidationAccuracy);
        AssertSameWeights(TrainingLoopTests.Weights(first.Model), TrainingLoopTests.Weights(second.Model), "same weights");
    }

    [TestMethod]
    public void ResumeRefusesOtherDataOrOptionsAndNamesWhatDiffers()
    {
        var (ml, train, validation) = TrainingLoopTests.PairDataWithConstantAccuracyValidation(10);
        var (_, reversed, _) = TrainingLoopTests.PairDataWithConstantAccuracyValidation(10, reversed: true);
        var folder = Directory.CreateTempSubdirectory("gwt-fingerprint-").FullName;
        GwtTextClassificationTrainer.Options Make()
        {
            var o = TrainingLoopTests.Options();
            o.BatchSize = 5;
            o.CheckpointFolder = folder;
            return o;
        }
        TrainingLoopTests.Train(ml, train, Make());
        Assert.IsTrue(TrainingLoopTests.Train(ml, train, Make()).TrainingResult!.Resumed, "the same run resumes");

        var cases = new (string Field, Action<GwtTextClassificationTrainer.Options> Change, IDataView Data)[]
        {
            ("TrainingData", _ => { }, reversed), // same rows, other order
            ("ValidationData", o => o.ValidationSet = validation, train),
            ("WeightDecay", o => o.WeightDecay = 0.5, train),
            ("WarmupFraction", o => o.WarmupFraction = 0.3, train),
            ("GradientClipNorm", o => o.GradientClipNorm = 0.5, train),
            ("GwtNormGrowthLimiter", o => o.GwtNormGrowthLimiter = false, train),
            ("GwtTargetSelector", o => o.GwtTargetSelector = GwtTargets.ByModuleName("query"), train),
            ("GradientAccumulationSteps", o => o.GradientAccumulationSteps = 2, train),
            ("GwtAlpha", o => o.GwtAlpha = 1, train),
            ("LearningRate", o => o.LearningRate = 2e-2, train),
        };
        foreach (var (field, change, data) in cases)
        {
            var o = Make();
            change(o);
            var ex = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(data), field);
            StringAssert.Contains(ex.Message, field + " (checkpoint: ", field);
            StringAssert.Contains(ex.Message, folder, field);
        }
    }

    private static void AssertSameWeights(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, string message)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), actual.Keys.ToList(), message);
        foreach (var (name, values) in expected)
        {
            CollectionAssert.AreEqual(values, actual[name], $"{message}: {name}");
        }
    }
}
