namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>One sentence pair of the shipped shapes-sts data set (data/shapes-sts: constructed, see its derive.py).</summary>
public sealed class SentencePair
{
    public float Label { get; set; }
    public string Sentence1 { get; set; } = "";
    public string Sentence2 { get; set; } = "";
}

/// <summary>A scored pair as a <c>PredictionEngine</c> returns it.</summary>
public sealed class SimilarityPrediction
{
    public float Score { get; set; }
}

internal static class ShapesStsData
{
    private static readonly Lazy<List<(string Split, SentencePair Pair)>> Rows = new(() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "TestData", "shapes-sts.tsv")).Skip(1)
            .Select(line => line.Split('\t'))
            .Select(p => (p[1], new SentencePair { Label = float.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), Sentence1 = p[2], Sentence2 = p[3] }))
            .ToList());

    /// <summary>The first <paramref name="count"/> pairs of a split (deterministic).</summary>
    public static List<SentencePair> Take(string split, int count) =>
        Rows.Value.Where(r => r.Split == split).Take(count).Select(r => r.Pair).ToList();
}
