using Microsoft.ML;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>The short <c>Gwt(...)</c> overload: ML.NET's <c>TextClassification</c> parameters first, ours after.</summary>
[TestClass]
public sealed class CatalogTests
{
    /// <summary>ML.NET 5.0.1's <c>TorchSharpCatalog.TextClassification</c> parameters (names and defaults), without
    /// <c>architecture</c>, written down from its source.</summary>
    private static readonly (string Name, object? Default)[] MlNetParameters =
    {
        ("labelColumnName", "Label"), ("scoreColumnName", "Score"), ("outputColumnName", "PredictedLabel"),
        ("sentence1ColumnName", "Sentence1"), ("sentence2ColumnName", null), ("batchSize", 32), ("maxEpochs", 10), ("validationSet", null),
    };

    private static System.Reflection.MethodInfo ShortOverload() => typeof(GwtCatalog).GetMethods()
        .Single(m => m.Name == nameof(GwtCatalog.Gwt) && m.GetParameters().Length > 2);

    [TestMethod]
    public void MlNetsParametersComeFirstInTheirOrderThenOurs()
    {
        var parameters = ShortOverload().GetParameters().Skip(1).ToArray();
        var expected = MlNetParameters.Select(p => p.Name).Concat(new[] { "pretrainedModelPath", "maxSequenceLength" }).ToArray();
        CollectionAssert.AreEqual(expected, parameters.Select(p => p.Name).ToArray());
        for (int i = 0; i < MlNetParameters.Length; i++)
        {
            Assert.IsTrue(parameters[i].HasDefaultValue, parameters[i].Name);
            Assert.AreEqual(MlNetParameters[i].Default, parameters[i].DefaultValue, parameters[i].Name);
        }
        Assert.IsNull(parameters[^2].DefaultValue, "pretrainedModelPath defaults to training from scratch");
        Assert.IsNull(parameters[^1].DefaultValue, "maxSequenceLength defaults to unset: Options' default, adapted to the checkpoint");
        Assert.IsFalse(ml().MulticlassClassification.Trainers.Gwt().TrainerOptions.MaxSequenceLengthIsSet);
        static MLContext ml() => new(1);
    }

    [TestMethod]
    public void EveryParameterReachesItsOption()
    {
        var ml = new MLContext(1);
        var validation = ml.Data.LoadFromEnumerable(new[] { new Email { Label = "a", Text = "b" } });
        var o = ml.MulticlassClassification.Trainers.Gwt("L", "S", "P", "T1", "T2", 7, 3, validation, "/some/checkpoint", 48).TrainerOptions;
        Assert.AreEqual("L", o.LabelColumnName);
        Assert.AreEqual("S", o.ScoreColumnName);
        Assert.AreEqual("P", o.PredictedLabelColumnName);
        Assert.AreEqual("T1", o.Sentence1ColumnName);
        Assert.AreEqual("T2", o.Sentence2ColumnName);
        Assert.AreEqual(7, o.BatchSize);
        Assert.AreEqual(3, o.MaxEpochs);
        Assert.AreSame(validation, o.ValidationSet);
        Assert.AreEqual("/some/checkpoint", o.PretrainedModelPath);
        Assert.AreEqual(48, o.MaxSequenceLength);
    }

    [TestMethod]
    public void ShortOverloadValidatesMaxSequenceLengthByName()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext(1).MulticlassClassification.Trainers.Gwt(maxSequenceLength: 2));
        Assert.AreEqual("MaxSequenceLength", ex.ParamName);
    }

    [TestMethod]
    public void NullArgumentsAreNamed()
    {
        Assert.AreEqual("catalog", Assert.ThrowsExactly<ArgumentNullException>(() => GwtCatalog.Gwt(null!, new GwtTextClassificationTrainer.Options())).ParamName);
        Assert.AreEqual("catalog", Assert.ThrowsExactly<ArgumentNullException>(() => GwtCatalog.Gwt(null!)).ParamName);
        Assert.AreEqual("mlContext", Assert.ThrowsExactly<ArgumentNullException>(() => GwtCatalog.RegisterGwtComponents(null!)).ParamName);
        var ml = new MLContext(1);
        Assert.AreSame(ml, ml.RegisterGwtComponents());
    }
}
