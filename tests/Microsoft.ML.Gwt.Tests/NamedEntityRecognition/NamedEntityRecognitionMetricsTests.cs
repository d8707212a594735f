using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary><see cref="GwtNamedEntityRecognitionMetrics"/> and <see cref="NamedEntitySpans"/> against values computed
/// independently in Python (TestData/ner-metrics/make_metrics.py: a port of seqeval's default-mode get_entities and
/// counting, run once on tricky tag sequences: I- without B-, type changes, entities across sentence ends, IOBES, no
/// entities).</summary>
[TestClass]
public sealed class NamedEntityRecognitionMetricsTests
{
    private sealed record Case(string Name, string[][] True, string[][] Pred, JsonElement Expected);

    private static List<Case> Cases()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "ner-metrics", "expected.json")));
        string[][] Tags(JsonElement c, string n) => c.GetProperty(n).EnumerateArray().Select(s => s.EnumerateArray().Select(t => t.GetString()!).ToArray()).ToArray();
        return doc.RootElement.EnumerateArray().Select(c => new Case(c.GetProperty("name").GetString()!, Tags(c, "true"), Tags(c, "pred"), c)).ToList();
    }

    private static HashSet<(string, int, int)> Spans(JsonElement e) =>
        e.EnumerateArray().Select(s => (s[0].GetString()!, s[1].GetInt32(), s[2].GetInt32())).ToHashSet();

    [TestMethod]
    public void MatchTheSeqevalReference()
    {
        var cases = Cases();
        Assert.HasCount(9, cases);
        foreach (var c in cases)
        {
            var m = GwtNamedEntityRecognitionMetrics.Compute(c.True, c.Pred);
            var e = c.Expected;
            Assert.AreEqual(e.GetProperty("precision").GetDouble(), m.Precision, 1e-12, c.Name);
            Assert.AreEqual(e.GetProperty("recall").GetDouble(), m.Recall, 1e-12, c.Name);
            Assert.AreEqual(e.GetProperty("f1").GetDouble(), m.F1, 1e-12, c.Name);
            Assert.AreEqual(e.GetProperty("token_accuracy").GetDouble(), m.TokenAccuracy, 1e-12, c.Name);
            Assert.AreEqual(e.GetProperty("true_entities").GetInt64(), m.TrueEntities, c.Name);
            Assert.AreEqual(e.GetProperty("predicted_entities").GetInt64(), m.PredictedEntities, c.Name);
            Assert.AreEqual(e.GetProperty("correct_entities").GetInt64(), m.CorrectEntities, c.Name);
            var perType = e.GetProperty("per_type");
            CollectionAssert.AreEqual(perType.EnumerateObject().Select(p => p.Name).ToArray(), m.PerType.Keys.ToArray(), c.Name);
            foreach (var p in perType.EnumerateObject())
            {
                var ours = m.PerType[p.Name];
                Assert.AreEqual(p.Value.GetProperty("precision").GetDouble(), ours.Precision, 1e-12, $"{c.Name} {p.Name}");
                Assert.AreEqual(p.Value.GetProperty("recall").GetDouble(), ours.Recall, 1e-12, $"{c.Name} {p.Name}");
                Assert.AreEqual(p.Value.GetProperty("f1").GetDouble(), ours.F1, 1e-12, $"{c.Name} {p.Name}");
                Assert.AreEqual(p.Value.GetProperty("support").GetInt64(), ours.Support, $"{c.Name} {p.Name}");
            }
            // The entities themselves, sentences joined by an O as seqeval joins them.
            var joined = c.True.SelectMany(s => s.Append("O")).ToList();
            var ours2 = NamedEntitySpans.Find(joined).Select(s => (s.Type, s.Start, s.End)).ToHashSet();
            Assert.IsTrue(Spans(e.GetProperty("entities_true")).SetEquals(ours2), c.Name);
        }
    }

    [TestMethod]
    public void SeqevalsDocstringExampleScoresOneHalf()
    {
        var m = GwtNamedEntityRecognitionMetrics.Compute(
            new[] { new[] { "O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O" }, new[] { "B-PER", "I-PER", "O" } },
            new[] { new[] { "O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O" }, new[] { "B-PER", "I-PER", "O" } });
        Assert.AreEqual(0.5, m.F1, 1e-12);
        Assert.AreEqual(0.8, m.TokenAccuracy, 1e-12);
        Assert.AreEqual(0.0, m.PerType["MISC"].F1);
        Assert.AreEqual(1.0, m.PerType["PER"].F1);
    }

    [TestMethod]
    public void BadTagsAndLengthsAreNamedErrors()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => NamedEntitySpans.Find(new[] { "O", "PER" }));
        StringAssert.Contains(ex.Message, "'PER' at word 1");
        var ex2 = Assert.ThrowsExactly<ArgumentException>(() => GwtNamedEntityRecognitionMetrics.Compute(
            new[] { new[] { "O" }, new[] { "O", "B-X" } }, new[] { new[] { "O" }, new[] { "O" } }));
        StringAssert.Contains(ex2.Message, "Sentence 1 has 2 true tags but 1 predicted");
    }

    private sealed class Row
    {
        public string[] Tags { get; set; } = Array.Empty<string>();
        public string[] Predicted { get; set; } = Array.Empty<string>();
    }

    [TestMethod]
    public void TheCatalogEvaluatorReadsKeyVectorsWithTheirTagNames()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[]
        {
            new Row { Tags = new[] { "O", "B-PER", "I-PER" }, Predicted = new[] { "O", "B-PER", "I-PER" } },
            new Row { Tags = new[] { "B-LOC", "O" }, Predicted = new[] { "O", "O" } },
        };
        var data = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", "Tags")
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", "Predicted"))
            .Fit(data).Transform(data);
        var m = ml.MulticlassClassification.EvaluateNamedEntityRecognition(keyed);
        Assert.AreEqual(1.0, m.Precision);
        Assert.AreEqual(0.5, m.Recall);
        Assert.AreEqual(4.0 / 5, m.TokenAccuracy, 1e-12);
        Assert.AreEqual(2, m.Sentences);

        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.EvaluateNamedEntityRecognition(keyed, labelColumnName: "Tags"));
        StringAssert.Contains(wrong.Message, "'Tags'");
        StringAssert.Contains(wrong.Message, "vector of Key<UInt32>");
    }
}
