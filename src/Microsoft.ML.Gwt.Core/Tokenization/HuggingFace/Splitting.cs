namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>What happens to the delimiters when a piece of text is split (tokenizers' SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>Splitting a string at matched spans with one of the <see cref="SplitBehavior"/>s.</summary>
internal static class Splitting
{
    public static SplitBehavior ParseBehavior(string? name, string source) => name switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw new FormatException($"{source}: unknown split behavior '{name}'."),
    };

    /// <summary>Splits <paramref name="text"/> at the given non-overlapping, ordered matches (start, length).</summary>
    public static IEnumerable<string> Split(string text, IReadOnlyList<(int Start, int Length)> matches, SplitBehavior behavior, bool invert = false)
    {
        var pieces = Pieces(text, matches, invert);
        var output = behavior switch
        {
            SplitBehavior.Removed => pieces.Where(p => !p.IsMatch).Select(p => text[p.Start..p.End]).ToList(),
            SplitBehavior.Isolated => pieces.Select(p => text[p.Start..p.End]).ToList(),
            SplitBehavior.Contiguous => Contiguous(text, pieces),
            SplitBehavior.MergedWithPrevious => MergedWithPrevious(text, pieces),
            SplitBehavior.MergedWithNext => MergedWithNext(text, pieces),
            _ => new List<string>(),
        };
        return output.Where(s => s.Length > 0);
    }

    /// <summary>The text cut into pieces (start, end, isMatch) that cover it: the matches (non-matches when
    /// <paramref name="invert"/>) and the text between them; empty matches are ignored.</summary>
    private static List<(int Start, int End, bool IsMatch)> Pieces(string text, IReadOnlyList<(int Start, int Length)> matches, bool invert)
    {
        var pieces = new List<(int Start, int End, bool IsMatch)>();
        int pos = 0;
        foreach (var (start, length) in matches)
        {
            if (length == 0)
            {
                continue;
            }
            if (start > pos)
            {
                pieces.Add((pos, start, invert));
            }
            pieces.Add((start, start + length, !invert));
            pos = start + length;
        }
        if (pos < text.Length)
        {
            pieces.Add((pos, text.Length, invert));
        }
        return pieces;
    }

    /// <summary>Each non-match alone; each run of adjacent matches as one piece.</summary>
    private static List<string> Contiguous(string text, List<(int Start, int End, bool IsMatch)> pieces)
    {
        var output = new List<string>();
        int runStart = -1;
        for (int i = 0; i < pieces.Count; i++)
        {
            if (!pieces[i].IsMatch)
            {
                output.Add(text[pieces[i].Start..pieces[i].End]);
                continue;
            }
            runStart = runStart < 0 ? pieces[i].Start : runStart;
            if (i + 1 == pieces.Count || !pieces[i + 1].IsMatch)
            {
                output.Add(text[runStart..pieces[i].End]);
                runStart = -1;
            }
        }
        return output;
    }

    /// <summary>Each match ends the piece that precedes it.</summary>
    private static List<string> MergedWithPrevious(string text, List<(int Start, int End, bool IsMatch)> pieces)
    {
        var output = new List<string>();
        int start = 0;
        for (int i = 0; i < pieces.Count; i++)
        {
            if (pieces[i].IsMatch || i + 1 == pieces.Count)
            {
                output.Add(text[start..pieces[i].End]);
                start = pieces[i].End;
            }
        }
        return output;
    }

    /// <summary>Each match begins the piece that follows it.</summary>
    private static List<string> MergedWithNext(string text, List<(int Start, int End, bool IsMatch)> pieces)
    {
        var output = new List<string>();
        int start = 0;
        for (int i = 0; i < pieces.Count; i++)
        {
            if (pieces[i].IsMatch && pieces[i].Start > start)
            {
                output.Add(text[start..pieces[i].Start]);
                start = pieces[i].Start;
            }
        }
        if (start < text.Length)
        {
            output.Add(text[start..]);
        }
        return output;
    }

    /// <summary>Spans of the runes of <paramref name="text"/> that satisfy <paramref name="predicate"/>, one span per rune.</summary>
    public static List<(int Start, int Length)> RuneMatches(string text, Func<System.Text.Rune, bool> predicate)
    {
        var matches = new List<(int, int)>();
        for (int i = 0; i < text.Length;)
        {
            var r = System.Text.Rune.GetRuneAt(text, i);
            if (predicate(r))
            {
                matches.Add((i, r.Utf16SequenceLength));
            }
            i += r.Utf16SequenceLength;
        }
        return matches;
    }
}
