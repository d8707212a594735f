using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

public sealed class Prediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = Array.Empty<float>();
}

[TestClass]
public sealed class TrainerTests
{
    internal static (MLContext Ml, IDataView Train, IDataView Test, IEstimator<ITransformer> Map) Data(int trainPerClass = 150, int testPerClass = 60)
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(SpamData.Take("train", trainPerClass, "ham", "spam"));
        var test = ml.Data.LoadFromEnumerable(SpamData.Take("test", testPerClass, "ham", "spam"));
        var map = ml.Transforms.Conversion.MapValueToKey("Label");
        return (ml, train, test, map);
    }

    internal static GwtTextClassificationTrainer.Options Fast(GwtOptimizerKind kind) => new()
    {
        Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
        Sentence1ColumnName = "Text", MaxEpochs = 4, BatchSize = 16, MaxSequenceLength = 64, Optimizer = kind,
        LearningRate = 1e-3, Seed = 7, LogEverySteps = 1000,
    };

    [TestMethod]
    [DataRow(GwtOptimizerKind.Gwt)]
    [DataRow(GwtOptimizerKind.AdamW)]
    public void LearnsSpamVersusHamClearlyAboveChance(GwtOptimizerKind kind)
    {
        var (ml, train, test, map) = Data();
        var pipeline = map.Append(ml.MulticlassClassification.Trainers.Gwt(Fast(kind)))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Console.WriteLine($"{kind}: accuracy {metrics.MacroAccuracy:F3} micro {metrics.MicroAccuracy:F3} log-loss {metrics.LogLoss:F3}");
        Assert.IsGreaterThan(0.75, metrics.MicroAccuracy, $"{kind} accuracy {metrics.MicroAccuracy} (chance: 0.5)");
    }
}
