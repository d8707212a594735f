using Microsoft.ML;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>The short <c>GwtSentenceSimilarity(...)</c> overload: ML.NET's <c>SentenceSimilarity</c> parameters first, ours after.</summary>
[TestClass]
public sealed class SentenceSimilarityCatalogTests
{
    /// <summary>ML.NET's <c>TorchSharpCatalog.SentenceSimilarity</c> parameters (names and defaults: <c>DefaultColumnNames.Label</c>
    /// is "Label", <c>DefaultColumnNames.Score</c> "Score"), without <c>architecture</c>, written down from its source.</summary>
    private static readonly (string Name, object? Default)[] MlNetParameters =
    {
        ("labelColumnName", "Label"), ("scoreColumnName", "Score"), ("sentence1ColumnName", "Sentence1"), ("sentence2ColumnName", "Sentence2"),
        ("batchSize", 32), ("maxEpochs", 10), ("validationSet", null),
    };

    [TestMethod]
    public void MlNetsParametersComeFirstInTheirOrderThenOurs()
    {
        var method = typeof(GwtCatalog).GetMethods().Single(m => m.Name == nameof(GwtCatalog.GwtSentenceSimilarity) && m.GetParameters().Length > 2);
        var parameters = method.GetParameters().Skip(1).ToArray();
        CollectionAssert.AreEqual(MlNetParameters.Select(p => p.Name).Concat(new[] { "pretrainedModelPath", "maxSequenceLength" }).ToArray(),
            parameters.Select(p => p.Name).ToArray());
        for (int i = 0; i < MlNetParameters.Length; i++)
        {
            Assert.AreEqual(MlNetParameters[i].Default, parameters[i].DefaultValue, parameters[i].Name);
        }
        var o = new MLContext(1).Regression.Trainers.GwtSentenceSimilarity().TrainerOptions;
        Assert.AreEqual("Sentence2", o.Sentence2ColumnName);
        Assert.IsFalse(o.MaxSequenceLengthIsSet);
    }

    [TestMethod]
    public void EveryParameterReachesItsOption()
    {
        var ml = new MLContext(1);
        var validation = ml.Data.LoadFromEnumerable(new[] { new SentencePair() });
        var o = ml.Regression.Trainers.GwtSentenceSimilarity("L", "S", "A", "B", 7, 3, validation, "/some/checkpoint", 48).TrainerOptions;
        Assert.AreEqual("L", o.LabelColumnName);
        Assert.AreEqual("S", o.ScoreColumnName);
        Assert.AreEqual("A", o.Sentence1ColumnName);
        Assert.AreEqual("B", o.Sentence2ColumnName);
        Assert.AreEqual(7, o.BatchSize);
        Assert.AreEqual(3, o.MaxEpochs);
        Assert.AreSame(validation, o.ValidationSet);
        Assert.AreEqual("/some/checkpoint", o.PretrainedModelPath);
        Assert.AreEqual(48, o.MaxSequenceLength);
    }

    [TestMethod]
    public void InvalidOptionsAreErrorsNamingTheOption()
    {
        var ml = new MLContext(1);
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.GwtSentenceSimilarity(batchSize: 0));
        Assert.AreEqual("BatchSize", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.GwtSentenceSimilarity(scoreColumnName: " "));
        Assert.AreEqual("ScoreColumnName", ex.ParamName);
    }
}
