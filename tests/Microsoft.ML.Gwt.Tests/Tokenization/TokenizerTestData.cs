using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

/// <summary>The committed tokenizer test data (TestData/tokenizers, generated once by make_tokenizers.py).</summary>
internal static class TokenizerTestData
{
    private static readonly Lazy<JsonElement> ExpectedJson = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path("expected.json"))).RootElement);

    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "TestData", "tokenizers", .. parts]);

    public static JsonElement Expected => ExpectedJson.Value;

    public static string[] Sentences => Expected.GetProperty("sentences").EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static (string A, string B)[] Pairs => Expected.GetProperty("pairs").EnumerateArray()
        .Select(p => (p[0].GetString()!, p[1].GetString()!)).ToArray();

    public static int[][] Ids(JsonElement element) =>
        element.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();

    /// <summary>A temporary checkpoint folder holding the given files (copied under new names) and a config.json.</summary>
    public static string Folder(string modelType, int vocabSize, params (string Source, string Name)[] files)
    {
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gwt-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var (source, name) in files)
        {
            File.Copy(source, System.IO.Path.Combine(dir, name));
        }
        File.WriteAllText(System.IO.Path.Combine(dir, "config.json"), new TransformerConfig { ModelType = modelType, VocabSize = vocabSize }.ToJson());
        return dir;
    }

    public static TextTokenizer Load(string folder) => TextTokenizer.FromPretrained(folder, CheckpointLoader.ReadConfig(folder));

    /// <summary>Ids of every sentence without special tokens (the middle of a single-sentence encoding).</summary>
    public static int[] Plain(TextTokenizer tok, string text, int specialsBefore, int specialsAfter)
    {
        var ids = tok.Encode(text, null, 100_000).Ids;
        return ids[specialsBefore..^specialsAfter];
    }

    /// <summary>Asserts that every row matches; the message counts mismatches and shows the first ones.</summary>
    public static void AssertAllEqual(int[][] expected, Func<int, int[]> actual, string what, string[]? inputs = null)
    {
        var bad = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            var got = actual(i);
            if (!got.SequenceEqual(expected[i]))
            {
                bad.Add($"#{i} {(inputs is null ? "" : JsonSerializer.Serialize(inputs[i]))}: expected [{string.Join(",", expected[i])}] got [{string.Join(",", got)}]");
            }
        }
        Assert.IsEmpty(bad, $"{what}: {bad.Count}/{expected.Length} differ:\n{string.Join("\n", bad.Take(5))}");
    }
}
