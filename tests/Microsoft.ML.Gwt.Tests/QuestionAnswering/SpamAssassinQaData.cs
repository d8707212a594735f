using System.IO.Compression;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>One question of the shipped spamassassin-qa set (data/spamassassin-qa: constructed, see its derive.py).</summary>
public sealed class QaRow
{
    public string Context { get; set; } = "";
    public string Question { get; set; } = "";
    public string TrainingAnswer { get; set; } = "";
    public int AnswerIndex { get; set; }
}

/// <summary>A row's answers as a <c>PredictionEngine</c> returns them.</summary>
public sealed class QaPrediction
{
    public string[] Answer { get; set; } = Array.Empty<string>();
    public float[] Score { get; set; } = Array.Empty<float>();
}

internal static class SpamAssassinQaData
{
    private static readonly Lazy<List<(string Split, QaRow Row)>> Rows = new(() =>
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin-qa.tsv.gz"));
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        var rows = new List<(string, QaRow)>();
        reader.ReadLine();
        while (reader.ReadLine() is { } line)
        {
            var p = line.Split('\t');
            rows.Add((p[0], new QaRow { Context = p[3], Question = p[4], TrainingAnswer = p[5], AnswerIndex = int.Parse(p[6], System.Globalization.CultureInfo.InvariantCulture) }));
        }
        return rows;
    });

    /// <summary>The first <paramref name="count"/> questions of a split (deterministic).</summary>
    public static List<QaRow> Take(string split, int count) =>
        Rows.Value.Where(r => r.Split == split).Take(count).Select(r => r.Row).ToList();
}
