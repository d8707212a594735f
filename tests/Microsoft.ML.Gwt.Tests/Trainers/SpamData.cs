using System.IO.Compression;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>One email of the shipped SpamAssassin-derived dataset.</summary>
public sealed class Email
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

internal static class SpamData
{
    private static readonly Lazy<List<(string Label, string Split, string Text)>> Rows = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin.tsv.gz");
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        reader.ReadLine();
        var rows = new List<(string, string, string)>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var parts = line.Split('\t', 3);
            rows.Add((parts[0], parts[1], parts[2]));
        }
        return rows;
    });

    /// <summary>The first <paramref name="perClass"/> rows of each class from one split (deterministic).</summary>
    public static List<Email> Take(string split, int perClass, params string[] labels) =>
        Rows.Value.Where(r => r.Split == split && (labels.Length == 0 || labels.Contains(r.Label)))
            .GroupBy(r => r.Label).SelectMany(g => g.Take(perClass))
            .Select(r => new Email { Label = r.Label, Text = r.Text }).ToList();
}
