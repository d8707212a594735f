using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>A tokenizer.json pre-tokenizer: splits (and may rewrite) the pieces of a normalized text segment.</summary>
internal abstract class PreTokenizer
{
    /// <summary>Splits each piece. <paramref name="atStart"/>: the segment begins the input (Metaspace's "first").</summary>
    public abstract List<string> Split(List<string> pieces, bool atStart);

    protected static List<string> Each(List<string> pieces, Func<string, IEnumerable<string>> split) =>
        pieces.SelectMany(split).Where(p => p.Length > 0).ToList();

    /// <summary>Builds the pre-tokenizer described by a tokenizer.json <c>pre_tokenizer</c> object (null: none).</summary>
    /// <exception cref="NotSupportedException">The type is not one of the supported ones.</exception>
    public static PreTokenizer? Parse(JsonElement e, string source)
    {
        if (e.ValueKind == JsonValueKind.Null || e.ValueKind == JsonValueKind.Undefined)
        {
            return null;
        }
        string type = Json.Type(e, source, "pre_tokenizer");
        return type switch
        {
            "BertPreTokenizer" => new FuncPreTokenizer(p => Each(p, BertSplit)),
            "Whitespace" => new RegexPreTokenizer(new Regex(@"\w+|[^\w\s]+", RegexOptions.CultureInvariant), SplitBehavior.Removed, true),
            "WhitespaceSplit" => new FuncPreTokenizer(p => Each(p, t => Splitting.Split(t, Splitting.RuneMatches(t, CharClass.IsWhitespace), SplitBehavior.Removed))),
            "ByteLevel" => new ByteLevelPreTokenizer(Json.Bool(e, "add_prefix_space", true), Json.Bool(e, "use_regex", true)),
            "Metaspace" => MetaspacePreTokenizer.Create(e, source),
            "Split" => new RegexPreTokenizer(Json.Pattern(e, source),
                Splitting.ParseBehavior(Json.OptionalString(e, "behavior"), source), Json.Bool(e, "invert", false)),
            "Punctuation" => RuneSplit(CharClass.IsPunctuation, Splitting.ParseBehavior(Json.OptionalString(e, "behavior") ?? "Isolated", source)),
            "Digits" => RuneSplit(CharClass.IsDigit, Json.Bool(e, "individual_digits", false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous),
            "Sequence" => new SequencePreTokenizer(Json.Array(e, "pretokenizers", source).Select(p => Parse(p, source)).OfType<PreTokenizer>().ToArray()),
            _ => throw new NotSupportedException(
                $"'{source}' uses the pre-tokenizer '{type}', which is not supported (supported: BertPreTokenizer, Whitespace, WhitespaceSplit, " +
                "ByteLevel, Metaspace, Split, Punctuation, Digits, Sequence)."),
        };
    }

    private static PreTokenizer RuneSplit(Func<System.Text.Rune, bool> predicate, SplitBehavior behavior) =>
        new FuncPreTokenizer(p => Each(p, t => Splitting.Split(t, Splitting.RuneMatches(t, predicate), behavior)));

    /// <summary>BERT: split on whitespace (removed), then isolate each punctuation character.</summary>
    internal static IEnumerable<string> BertSplit(string text) =>
        Splitting.Split(text, Splitting.RuneMatches(text, CharClass.IsWhitespace), SplitBehavior.Removed)
            .SelectMany(w => Splitting.Split(w, Splitting.RuneMatches(w, CharClass.IsPunctuation), SplitBehavior.Isolated));
}

internal sealed class FuncPreTokenizer(Func<List<string>, List<string>> func) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart) => func(pieces);
}

internal sealed class SequencePreTokenizer(PreTokenizer[] parts) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart)
    {
        foreach (var p in parts)
        {
            pieces = p.Split(pieces, atStart);
        }
        return pieces;
    }
}

/// <summary>tokenizers' Split (and Whitespace): regex matches split each piece with a behavior.</summary>
internal sealed class RegexPreTokenizer(Regex regex, SplitBehavior behavior, bool invert) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart) =>
        Each(pieces, t => Splitting.Split(t, regex.Matches(t).Select(m => (m.Index, m.Length)).ToList(), behavior, invert));
}

/// <summary>tokenizers' ByteLevel: optional leading space, GPT-2 regex split, bytes mapped to the alphabet.</summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart) => Each(pieces, t =>
    {
        if (addPrefixSpace && !t.StartsWith(' '))
        {
            t = " " + t;
        }
        var parts = useRegex ? Splitting.Split(t, ByteLevel.Gpt2Matches(t), SplitBehavior.Isolated) : new[] { t };
        return parts.Select(ByteLevel.ToUnits);
    });
}

/// <summary>tokenizers' Metaspace: spaces become the replacement character (U+2581), which is prepended per the
/// prepend scheme; with <c>split</c>, each piece then starts at a replacement character.</summary>
internal sealed class MetaspacePreTokenizer(string replacement, string scheme, bool split) : PreTokenizer
{
    public static MetaspacePreTokenizer Create(JsonElement e, string source)
    {
        string replacement = Json.OptionalString(e, "replacement") ?? "\u2581";
        string scheme = Json.OptionalString(e, "prepend_scheme") ?? (Json.Bool(e, "add_prefix_space", true) ? "always" : "never");
        if (scheme is not ("always" or "first" or "never"))
        {
            throw new FormatException($"'{source}': Metaspace prepend_scheme '{scheme}' is not always, first or never.");
        }
        return new MetaspacePreTokenizer(replacement, scheme, Json.Bool(e, "split", true));
    }

    public override List<string> Split(List<string> pieces, bool atStart)
    {
        var output = new List<string>();
        for (int i = 0; i < pieces.Count; i++)
        {
            var t = pieces[i].Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = scheme == "always" || (scheme == "first" && atStart && i == 0);
            if (prepend && !t.StartsWith(replacement, StringComparison.Ordinal))
            {
                t = replacement + t;
            }
            if (!split)
            {
                output.Add(t);
                continue;
            }
            var matches = new List<(int, int)>();
            for (int k = t.IndexOf(replacement, StringComparison.Ordinal); k >= 0; k = t.IndexOf(replacement, k + replacement.Length, StringComparison.Ordinal))
            {
                matches.Add((k, replacement.Length));
            }
            output.AddRange(Splitting.Split(t, matches, SplitBehavior.MergedWithNext));
        }
        return output.Where(p => p.Length > 0).ToList();
    }
}
