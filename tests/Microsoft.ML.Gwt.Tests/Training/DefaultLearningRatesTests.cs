using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>The learning rates a run uses when none is set, as documented on the options, decided in one place.</summary>
[TestClass]
public sealed class DefaultLearningRatesTests
{
    [TestMethod]
    public void TheClassifierFineTunesAtTheCheckpointWidthsRateAndTrainsFromScratchAt5em4UnlessARateIsSet()
    {
        Assert.AreEqual(5e-5, DefaultLearningRates.Classifier(null, checkpointHiddenSize: 768), 1e-18);
        Assert.AreEqual(3e-4, DefaultLearningRates.Classifier(null, checkpointHiddenSize: 128), 1e-18);
        Assert.AreEqual(5e-4, DefaultLearningRates.Classifier(null, checkpointHiddenSize: null));
        Assert.AreEqual(2e-3, DefaultLearningRates.Classifier(2e-3, checkpointHiddenSize: 128));
        Assert.AreEqual(2e-3, DefaultLearningRates.Classifier(2e-3, checkpointHiddenSize: null));

        var options = new GwtTextClassificationTrainer.Options();
        Assert.AreEqual(5e-4, TrainingSession.EngineOptions(options, checkpointHiddenSize: null).PeakLearningRate);
        options.PretrainedModelPath = "checkpoint";
        Assert.AreEqual(5e-5, TrainingSession.EngineOptions(options, checkpointHiddenSize: 768).PeakLearningRate, 1e-18);
        Assert.AreEqual(3e-4, TrainingSession.EngineOptions(options, checkpointHiddenSize: 128).PeakLearningRate, 1e-18);
        options.LearningRate = 7e-4;
        Assert.AreEqual(7e-4, TrainingSession.EngineOptions(options, checkpointHiddenSize: 768).PeakLearningRate);
        Assert.AreEqual(7e-4, TrainingSession.EngineOptions(options, checkpointHiddenSize: 128).PeakLearningRate);
    }

    /// <summary>5e-5 · 768 / hidden size, within [1e-5, 5e-4]: literal values per encoder width (the model sizes here,
    /// MiniLM/arctic-xs 384, BERT-base 768, BERT-large 1024, and both clamps).</summary>
    [TestMethod]
    [DataRow(32, 5e-4)]      // 1.2e-3 capped at the from-scratch rate
    [DataRow(64, 5e-4)]      // 6e-4 capped
    [DataRow(128, 3e-4)]     // Tiny (2 layers)
    [DataRow(256, 1.5e-4)]   // Small (4 layers)
    [DataRow(384, 1e-4)]     // all-MiniLM-L6-v2, snowflake-arctic-embed-xs (6 layers)
    [DataRow(768, 5e-5)]     // BERT-base (12 layers)
    [DataRow(1024, 3.75e-5)] // BERT-large (24 layers)
    [DataRow(4096, 1e-5)]    // 9.375e-6 raised to the floor
    public void TheCheckpointDefaultShrinksAsOneOverTheHiddenSize(int hiddenSize, double expected)
    {
        Assert.AreEqual(expected, DefaultLearningRates.FineTuningFor(hiddenSize), expected * 1e-12);
    }

    [TestMethod]
    public void AHiddenSizeOfZeroIsRefusedNamingIt()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DefaultLearningRates.FineTuningFor(0));
        Assert.AreEqual("hiddenSize", e.ParamName);
        StringAssert.Contains(e.Message, "hidden size");
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

    [TestMethod]
    public void GwtPretrainingGivesUntargetedParametersAdamWs1em3UnlessSetAndAdamWGivesEveryParameterItsRate()
    {
        var options = new GwtPretrainingOptions();
        Assert.IsNull(options.NonTargetLearningRate);
        Assert.AreEqual(1e-3, options.ResolvedNonTargetLearningRate);
        options.LearningRate = 2e-2;
        Assert.AreEqual(1e-3, options.ResolvedNonTargetLearningRate, "independent of the GWT rate");
        options.NonTargetLearningRate = 4e-4;
        Assert.AreEqual(4e-4, options.ResolvedNonTargetLearningRate);
        options.Optimizer = GwtOptimizerKind.AdamW;
        Assert.AreEqual(2e-2, options.ResolvedNonTargetLearningRate, "AdamW: one rate for every parameter");
        Assert.AreEqual(1e-3, DefaultLearningRates.PretrainingNonTarget(null, GwtOptimizerKind.Gwt, 1e-2));
        Assert.AreEqual(5e-3, DefaultLearningRates.PretrainingNonTarget(null, GwtOptimizerKind.AdamW, 5e-3));
    }
}
