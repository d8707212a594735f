using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>SQuAD v1.1 exact match and F1 against the official script's functions run on tricky cases
/// (TestData/qa-metrics/make_metrics.py; values committed).</summary>
[TestClass]
public sealed class QuestionAnsweringMetricsTests
{
    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "qa-metrics", "expected.json")));
        return doc.RootElement.Clone();
    }

    [TestMethod]
    public void EachCaseMatchesTheSquadScript()
    {
        var root = Expected();
        var predictions = new List<string?>();
        var answers = new List<IReadOnlyList<string>>();
        foreach (var row in root.GetProperty("rows").EnumerateArray())
        {
            string prediction = row.GetProperty("prediction").GetString()!;
            var gold = row.GetProperty("answers").EnumerateArray().Select(a => a.GetString()!).ToArray();
            Assert.AreEqual(row.GetProperty("normalized").GetString(), GwtQuestionAnsweringMetrics.NormalizeAnswer(prediction), prediction);
            Assert.AreEqual(row.GetProperty("exact").GetDouble(), gold.Max(g => GwtQuestionAnsweringMetrics.ExactMatchScore(prediction, g)), prediction);
            Assert.AreEqual(row.GetProperty("f1").GetDouble(), gold.Max(g => GwtQuestionAnsweringMetrics.F1Score(prediction, g)), 1e-12, prediction);
            predictions.Add(prediction);
            answers.Add(gold);
        }
        var metrics = GwtQuestionAnsweringMetrics.Compute(predictions, answers);
        Assert.AreEqual(root.GetProperty("total").GetProperty("exact_match").GetDouble(), metrics.ExactMatch, 1e-9);
        Assert.AreEqual(root.GetProperty("total").GetProperty("f1").GetDouble(), metrics.F1, 1e-9);
        Assert.AreEqual(predictions.Count, metrics.Rows);
    }

    private sealed class Scored
    {
        public string TrainingAnswer { get; set; } = "";

        [VectorType]
        public string[] Answer { get; set; } = Array.Empty<string>();
    }

    [TestMethod]
    public void TheCatalogEvaluatorReadsTheFirstAnswerAndNamesAMissingColumn()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new Scored { TrainingAnswer = "the Eiffel Tower", Answer = new[] { "Eiffel Tower", "Paris" } },
            new Scored { TrainingAnswer = "Paris", Answer = new[] { "France", "Paris" } }, // only the first answer counts
            new Scored { TrainingAnswer = "Paris", Answer = Array.Empty<string>() },       // no answer
        });
        var metrics = ml.MulticlassClassification.EvaluateQuestionAnswering(data);
        Assert.AreEqual(100.0 / 3, metrics.ExactMatch, 1e-9);
        Assert.AreEqual(100.0 / 3, metrics.F1, 1e-9);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.EvaluateQuestionAnswering(data, "Gold"));
        StringAssert.Contains(e.Message, "gold answer column 'Gold'");
    }
}
