using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool SingleWord, bool LStrip, bool RStrip, bool Normalized, bool Special)
{
    public static AddedToken Parse(JsonElement e, string source) => new(
        Json.Int(e, "id", source), Json.String(e, "content", source), Json.Bool(e, "single_word", false), Json.Bool(e, "lstrip", false),
        Json.Bool(e, "rstrip", false), Json.Bool(e, "normalized", false), Json.Bool(e, "special", false));
}

/// <summary>Finds added tokens in text before the model runs, as tokenizers' AddedVocabulary does: leftmost-longest
/// matches, <c>single_word</c> only between non-word characters, <c>lstrip</c>/<c>rstrip</c> absorbing whitespace.</summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, List<(string Pattern, AddedToken Token)>> _byFirstChar = new();

    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        foreach (var (pattern, token) in tokens.Where(t => t.Pattern.Length > 0))
        {
            if (!_byFirstChar.TryGetValue(pattern[0], out var list))
            {
                _byFirstChar[pattern[0]] = list = new();
            }
            list.Add((pattern, token));
        }
        foreach (var list in _byFirstChar.Values)
        {
            list.Sort((a, b) => b.Pattern.Length.CompareTo(a.Pattern.Length));
        }
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Splits <paramref name="text"/> into plain segments (Id null) and added tokens (Id set).</summary>
    public List<(string Text, int? Id)> Split(string text)
    {
        var output = new List<(string, int?)>();
        int offset = 0;
        for (int i = 0; i < text.Length;)
        {
            var match = LongestAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            var (pattern, token) = match.Value;
            int start = i, stop = i + pattern.Length;
            if (token.SingleWord && !((start == 0 || !EndsWithWord(text, start)) && (stop == text.Length || !StartsWithWord(text, stop))))
            {
                i++;
                continue;
            }
            if (token.LStrip)
            {
                while (start > offset && char.IsWhiteSpace(text[start - 1]))
                {
                    start--;
                }
            }
            if (token.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop]))
                {
                    stop++;
                }
            }
            if (offset < start)
            {
                output.Add((text[offset..start], null));
            }
            output.Add((text[start..stop], token.Id));
            offset = i = stop;
        }
        if (offset < text.Length)
        {
            output.Add((text[offset..], null));
        }
        return output;
    }

    private (string, AddedToken)? LongestAt(string text, int i)
    {
        if (!_byFirstChar.TryGetValue(text[i], out var list))
        {
            return null;
        }
        foreach (var entry in list)
        {
            if (string.CompareOrdinal(text, i, entry.Pattern, 0, entry.Pattern.Length) == 0)
            {
                return entry;
            }
        }
        return null;
    }

    private static bool EndsWithWord(string text, int end) =>
        end > 0 && Rune.DecodeLastFromUtf16(text.AsSpan(0, end), out var r, out _) == System.Buffers.OperationStatus.Done && CharClass.IsWord(r);

    private static bool StartsWithWord(string text, int start) =>
        Rune.DecodeFromUtf16(text.AsSpan(start), out var r, out _) == System.Buffers.OperationStatus.Done && CharClass.IsWord(r);
}
