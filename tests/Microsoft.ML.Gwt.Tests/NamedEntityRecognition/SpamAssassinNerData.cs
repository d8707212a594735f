using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>One tagged sentence of the shipped spamassassin-ner set (data/spamassassin-ner: rule-tagged, see its derive.py).</summary>
public sealed class TaggedSentence
{
    public string Sentence { get; set; } = "";
    public string[] Tags { get; set; } = Array.Empty<string>();
}

/// <summary>A sentence and its predicted tags, as a <c>PredictionEngine</c> returns them after <c>MapKeyToValue</c>.</summary>
public sealed class TaggedPrediction
{
    public string[] PredictedTags { get; set; } = Array.Empty<string>();
}

internal static class SpamAssassinNerData
{
    private static readonly Lazy<List<(string Split, TaggedSentence Row)>> Rows = new(() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin-ner.tsv")).Skip(1)
            .Select(line => line.Split('\t'))
            .Select(p => (p[0], new TaggedSentence { Sentence = p[1], Tags = p[2].Split(' ') }))
            .ToList());

    /// <summary>The first <paramref name="count"/> rows of a split (deterministic).</summary>
    public static List<TaggedSentence> Take(string split, int count) =>
        Rows.Value.Where(r => r.Split == split).Take(count).Select(r => r.Row).ToList();

    /// <summary>Training and test data with the tags mapped to keys in "Label" by one MapValueToKey fitted on the
    /// training rows (tag keys in order of appearance there).</summary>
    public static (MLContext Ml, IDataView Train, IDataView Test) Keyed(int train, int test, int seed = 1)
    {
        var ml = new MLContext(seed: seed);
        var trainView = ml.Data.LoadFromEnumerable(Take("train", train));
        var map = ml.Transforms.Conversion.MapValueToKey("Label", "Tags").Fit(trainView);
        return (ml, map.Transform(trainView), map.Transform(ml.Data.LoadFromEnumerable(Take("test", test))));
    }
}
