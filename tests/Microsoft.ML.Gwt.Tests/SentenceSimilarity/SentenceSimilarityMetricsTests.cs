using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary><see cref="GwtSentenceSimilarityMetrics"/> against values computed independently in Python
/// (TestData/sts-metrics/make_metrics.py: fsum Pearson, hand-written average-tie ranking for Spearman).</summary>
[TestClass]
public sealed class SentenceSimilarityMetricsTests
{
    private sealed record Case(string Name, float[] Labels, float[] Scores, double Pearson, double Spearman, double Mse, double Mae, double[] LabelRanks);

    private static IEnumerable<Case> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "sts-metrics", "expected.json")));
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            float[] F(string n) => c.GetProperty(n).EnumerateArray().Select(v => v.GetSingle()).ToArray();
            yield return new Case(c.GetProperty("name").GetString()!, F("labels"), F("scores"), c.GetProperty("pearson").GetDouble(),
                c.GetProperty("spearman").GetDouble(), c.GetProperty("mse").GetDouble(), c.GetProperty("mae").GetDouble(),
                c.GetProperty("label_ranks").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        }
    }

    [TestMethod]
    public void MatchTheIndependentReference()
    {
        int n = 0;
        foreach (var c in Cases())
        {
            var m = GwtSentenceSimilarityMetrics.Compute(c.Labels, c.Scores);
            Assert.AreEqual(c.Pearson, m.PearsonCorrelation, 1e-12, c.Name);
            Assert.AreEqual(c.Spearman, m.SpearmanCorrelation, 1e-12, c.Name);
            Assert.AreEqual(c.Mse, m.MeanSquaredError, 1e-12, c.Name);
            Assert.AreEqual(c.Mae, m.MeanAbsoluteError, 1e-12, c.Name);
            CollectionAssert.AreEqual(c.LabelRanks, GwtSentenceSimilarityMetrics.Ranks(c.Labels.Select(v => (double)v).ToList()), c.Name);
            n++;
        }
        Assert.AreEqual(3, n);
    }

    [TestMethod]
    public void EvaluateReadsTheColumnsAndLeavesNaNRowsOut()
    {
        var c = Cases().First();
        var rows = c.Labels.Zip(c.Scores, (l, s) => new { Label = l, Score = s }).Append(new { Label = float.NaN, Score = 1f }).ToList();
        var ml = new MLContext(1);
        var m = ml.Regression.EvaluateSentenceSimilarity(ml.Data.LoadFromEnumerable(rows));
        Assert.AreEqual(c.Labels.Length, m.Rows);
        Assert.AreEqual(c.Pearson, m.PearsonCorrelation, 1e-12);
        Assert.AreEqual(c.Spearman, m.SpearmanCorrelation, 1e-12);
    }

    [TestMethod]
    public void ConstantScoresHaveNoCorrelation()
    {
        var m = GwtSentenceSimilarityMetrics.Compute(new[] { 1f, 2f, 3f }, new[] { 2f, 2f, 2f });
        Assert.IsTrue(double.IsNaN(m.PearsonCorrelation));
        Assert.IsTrue(double.IsNaN(m.SpearmanCorrelation));
        Assert.AreEqual(2.0 / 3, m.MeanSquaredError, 1e-12);
    }

    [TestMethod]
    public void WrongColumnsAreErrorsNamingThem()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { Label = 1f, Score = new[] { 1f, 2f } } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.EvaluateSentenceSimilarity(data));
        Assert.AreEqual("Score", ex.ParamName);
        StringAssert.Contains(ex.Message, "'Score'");
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.EvaluateSentenceSimilarity(data, labelColumnName: "Gold"));
        Assert.AreEqual("Gold", ex.ParamName);
        var a = Assert.ThrowsExactly<ArgumentException>(() => GwtSentenceSimilarityMetrics.Compute(new[] { 1f }, new[] { 1f, 2f }));
        Assert.AreEqual("scores", a.ParamName);
    }
}
