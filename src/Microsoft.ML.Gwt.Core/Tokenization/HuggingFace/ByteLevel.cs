using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>GPT-2's byte-level alphabet (bytes_to_unicode) and its pre-tokenization regex, written out over Unicode
/// scalar values: <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.</summary>
internal static class ByteLevel
{
    private static readonly char[] ByteToUnit = BuildAlphabet();
    private static readonly string[] Contractions = { "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };

    private static char[] BuildAlphabet()
    {
        var map = new char[256];
        var direct = new List<int>();
        for (int b = '!'; b <= '~'; b++) direct.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) direct.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) direct.Add(b);
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            map[b] = direct.Contains(b) ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    /// <summary>The text's UTF-8 bytes, each mapped to its alphabet character.</summary>
    public static string ToUnits(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToUnit[bytes[i]];
        }
        return new string(chars);
    }

    /// <summary>The alphabet character of one byte.</summary>
    public static char Unit(byte b) => ByteToUnit[b];

    private enum Kind { Letter, Number, Space, Other }

    private static Kind Classify(Rune r) =>
        CharClass.IsLetter(r) ? Kind.Letter : CharClass.IsNumber(r) ? Kind.Number : IsSpace(r) ? Kind.Space : Kind.Other;

    private static bool IsSpace(Rune r) => CharClass.IsWhitespace(r) || r.Value is 0x1C or 0x1D or 0x1E or 0x1F;

    /// <summary>The spans (start, length) of the GPT-2 regex matches in <paramref name="text"/>.</summary>
    public static List<(int Start, int Length)> Gpt2Matches(string text)
    {
        var runes = new List<(Rune Rune, int Index)>();
        for (int i = 0; i < text.Length;)
        {
            var r = Rune.GetRuneAt(text, i);
            runes.Add((r, i));
            i += r.Utf16SequenceLength;
        }
        int n = runes.Count;
        int Pos(int k) => k < n ? runes[k].Index : text.Length;
        var matches = new List<(int, int)>();
        int i0 = 0;
        while (i0 < n)
        {
            string? contraction = Contractions.FirstOrDefault(c => string.CompareOrdinal(text, Pos(i0), c, 0, c.Length) == 0);
            if (contraction is not null)
            {
                matches.Add((Pos(i0), contraction.Length));
                i0 += contraction.Length;
                continue;
            }
            int j = runes[i0].Rune.Value == ' ' && i0 + 1 < n && Classify(runes[i0 + 1].Rune) != Kind.Space ? i0 + 1 : i0;
            var kind = Classify(runes[j].Rune);
            int k;
            if (kind != Kind.Space)
            {
                k = j;
                while (k < n && Classify(runes[k].Rune) == kind)
                {
                    k++;
                }
            }
            else
            {
                k = i0;
                while (k < n && Classify(runes[k].Rune) == Kind.Space)
                {
                    k++;
                }
                if (k < n && k - i0 >= 2)
                {
                    k--; // \s+(?!\S) leaves the last space to prefix the next word
                }
            }
            matches.Add((Pos(i0), Pos(k) - Pos(i0)));
            i0 = k;
        }
        return matches;
    }
}
