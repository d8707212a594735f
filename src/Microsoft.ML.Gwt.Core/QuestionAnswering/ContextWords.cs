using System.Globalization;

namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>
/// A context split into words with their character spans, as the original BERT <c>run_squad.py</c> splits a paragraph
/// (whitespace separates words; its <c>char_to_word_offset</c>) and as BERT's <c>BasicTokenizer</c> splits punctuation off
/// (every punctuation character is a word of its own: "Paris." gives "Paris" and "."). Sub-word tokens then know their
/// word, and a predicted token span maps back to the character span from its first word's start to its last word's end.
/// </summary>
public sealed class ContextWords
{
    private ContextWords(string text, string[] words, int[] starts, int[] ends)
    {
        Text = text;
        Words = words;
        Starts = starts;
        Ends = ends;
    }

    /// <summary>The context.</summary>
    public string Text { get; }

    /// <summary>The words, in order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Each word's first character's offset in <see cref="Text"/>.</summary>
    public IReadOnlyList<int> Starts { get; }

    /// <summary>Each word's end (exclusive) in <see cref="Text"/>.</summary>
    public IReadOnlyList<int> Ends { get; }

    /// <summary>Splits <paramref name="text"/> (null: empty) into words.</summary>
    public static ContextWords Split(string? text)
    {
        text ??= string.Empty;
        var words = new List<string>();
        var starts = new List<int>();
        var ends = new List<int>();
        int start = -1;
        void Close(int end)
        {
            if (start >= 0)
            {
                words.Add(text[start..end]);
                starts.Add(start);
                ends.Add(end);
                start = -1;
            }
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                Close(i);
            }
            else if (IsPunctuation(c))
            {
                Close(i);
                start = i;
                Close(i + 1);
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        Close(text.Length);
        return new ContextWords(text, words.ToArray(), starts.ToArray(), ends.ToArray());
    }

    /// <summary>BERT's <c>_is_punctuation</c>: the ASCII non-alphanumeric printable characters, and every Unicode
    /// punctuation category.</summary>
    public static bool IsPunctuation(char c)
    {
        if (c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~')
        {
            return true;
        }
        return CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The word a character belongs to, as <c>char_to_word_offset</c>: whitespace belongs to the word before
    /// it (-1 before the first word).</summary>
    public int WordOfChar(int charIndex)
    {
        // The last word starting at or before the character.
        int lo = 0, hi = Words.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (Starts[mid] <= charIndex)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    /// <summary>The characters from word <paramref name="first"/>'s start to word <paramref name="last"/>'s end.</summary>
    public (int Start, int Length) CharSpan(int first, int last) => (Starts[first], Ends[last] - Starts[first]);
}
