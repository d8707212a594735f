using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>The learning rates a run uses when none is set, as documented on the options, decided in one place.</summary>
[TestClass]
public sealed class DefaultLearningRatesTests
{
    [TestMethod]
    public void TheClassifierFineTunesAt5em5AndTrainsFromScratchAt5em4UnlessARateIsSet()
    {
        Assert.AreEqual(5e-5, DefaultLearningRates.Classifier(null, fromCheckpoint: true));
        Assert.AreEqual(5e-4, DefaultLearningRates.Classifier(null, fromCheckpoint: false));
        Assert.AreEqual(2e-3, DefaultLearningRates.Classifier(2e-3, fromCheckpoint: true));

        var options = new GwtTextClassificationTrainer.Options();
        Assert.AreEqual(5e-4, TrainingSession.EngineOptions(options).PeakLearningRate);
        options.PretrainedModelPath = "checkpoint";
        Assert.AreEqual(5e-5, TrainingSession.EngineOptions(options).PeakLearningRate);
        options.LearningRate = 7e-4;
        Assert.AreEqual(7e-4, TrainingSession.EngineOptions(options).PeakLearningRate);
    }

    [TestMethod]
    public void PretrainingUses1em2WithGwtAnd1em3WithAdamWUnlessARateIsSet()
    {
        Assert.AreEqual(1e-2, GwtPretrainingOptions.GwtPresetLearningRate);
        Assert.AreEqual(1e-3, GwtPretrainingOptions.AdamWDefaultLearningRate);
        var options = new GwtPretrainingOptions();
        Assert.AreEqual(1e-2, options.ResolvedLearningRate);
        options.Optimizer = GwtOptimizerKind.AdamW;
        Assert.AreEqual(1e-3, options.ResolvedLearningRate);
        options.LearningRate = 3e-3;
        Assert.AreEqual(3e-3, options.ResolvedLearningRate);
    }
}
