using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>A tokenizer.json normalizer: text in, normalized text out.</summary>
internal abstract class Normalizer
{
    public abstract string Normalize(string text);

    /// <summary>Builds the normalizer described by a tokenizer.json <c>normalizer</c> object (null: none).</summary>
    /// <exception cref="NotSupportedException">The type is not one of the supported ones.</exception>
    public static Normalizer? Parse(JsonElement e, string source)
    {
        if (e.ValueKind == JsonValueKind.Null || e.ValueKind == JsonValueKind.Undefined)
        {
            return null;
        }
        string type = Json.Type(e, source, "normalizer");
        return type switch
        {
            "BertNormalizer" => new BertNormalizer(Json.Bool(e, "clean_text", true), Json.Bool(e, "handle_chinese_chars", true),
                Json.OptionalBool(e, "strip_accents"), Json.Bool(e, "lowercase", true)),
            "Lowercase" => new FuncNormalizer(t => t.ToLowerInvariant()),
            "NFC" => new FuncNormalizer(t => t.Normalize(NormalizationForm.FormC)),
            "NFD" => new FuncNormalizer(t => t.Normalize(NormalizationForm.FormD)),
            "NFKC" => new FuncNormalizer(t => t.Normalize(NormalizationForm.FormKC)),
            "NFKD" => new FuncNormalizer(t => t.Normalize(NormalizationForm.FormKD)),
            "StripAccents" => new FuncNormalizer(t => Runes.Filter(t, r => !CharClass.IsCombiningMark(r))),
            "Strip" => new FuncNormalizer(StripFunc(Json.Bool(e, "strip_left", true), Json.Bool(e, "strip_right", true))),
            "Replace" => new FuncNormalizer(ReplaceFunc(e, source)),
            "Prepend" => new FuncNormalizer(PrependFunc(Json.String(e, "prepend", source))),
            "Nmt" => new FuncNormalizer(Nmt),
            "Precompiled" => PrecompiledNormalizer.Create(e, source),
            "ByteLevel" => new FuncNormalizer(ByteLevel.ToUnits),
            "Sequence" => new SequenceNormalizer(Json.Array(e, "normalizers", source).Select(n => Parse(n, source)).OfType<Normalizer>().ToArray()),
            _ => throw new NotSupportedException(
                $"'{source}' uses the normalizer '{type}', which is not supported (supported: BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, " +
                "StripAccents, Strip, Replace, Prepend, Nmt, Precompiled, ByteLevel, Sequence)."),
        };
    }

    private static Func<string, string> StripFunc(bool left, bool right) => t =>
    {
        int start = 0, end = t.Length;
        while (left && start < end && CharClass.IsWhitespace(Rune.GetRuneAt(t, start)))
        {
            start += Rune.GetRuneAt(t, start).Utf16SequenceLength;
        }
        while (right && end > start && CharClass.IsWhitespace(LastRune(t, end)))
        {
            end -= LastRune(t, end).Utf16SequenceLength;
        }
        return t[start..end];
    };

    private static Rune LastRune(string t, int end) =>
        end >= 2 && char.IsSurrogatePair(t[end - 2], t[end - 1]) ? new Rune(t[end - 2], t[end - 1]) : new Rune(t[end - 1]);

    /// <summary>tokenizers' Replace: a literal string or a regex pattern, every match replaced.</summary>
    internal static Func<string, string> ReplaceFunc(JsonElement e, string source)
    {
        var regex = Json.Pattern(e, source);
        string content = Json.String(e, "content", source);
        return t => regex.Replace(t, content.Replace("$", "$$", StringComparison.Ordinal));
    }

    private static Func<string, string> PrependFunc(string prefix) => t => t.Length == 0 ? t : prefix + t;

    /// <summary>tokenizers' Nmt normalizer: drops some control characters and maps others to a space.</summary>
    private static string Nmt(string t)
    {
        var sb = new StringBuilder(t.Length);
        foreach (char c in t)
        {
            int v = c;
            if (v is (>= 0x0001 and <= 0x0008) or 0x000B or (>= 0x000E and <= 0x001F) or 0x007F or 0x008F or 0x009F)
            {
                continue;
            }
            sb.Append(v is 0x0009 or 0x000A or 0x000C or 0x000D or 0x1680 or (>= 0x200B and <= 0x200F) or 0x2028 or 0x2029 or 0x2581 or 0xFEFF or 0xFFFD ? ' ' : c);
        }
        return sb.ToString();
    }
}

internal sealed class FuncNormalizer(Func<string, string> func) : Normalizer
{
    public override string Normalize(string text) => func(text);
}

internal sealed class SequenceNormalizer(Normalizer[] parts) : Normalizer
{
    public override string Normalize(string text)
    {
        foreach (var p in parts)
        {
            text = p.Normalize(text);
        }
        return text;
    }
}

/// <summary>tokenizers' BertNormalizer: clean text, pad CJK ideographs, strip accents (NFD + drop Mn), lowercase,
/// in that order.</summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChinese, bool? stripAccents, bool lowercase) : Normalizer
{
    public override string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var r in text.EnumerateRunes())
        {
            if (cleanText && (r.Value == 0 || r.Value == 0xFFFD || CharClass.IsControl(r)))
            {
                continue;
            }
            if (cleanText && CharClass.IsWhitespace(r))
            {
                sb.Append(' ');
            }
            else if (handleChinese && CharClass.IsChinese(r))
            {
                sb.Append(' ').Append(r.ToString()).Append(' ');
            }
            else
            {
                Append(sb, r);
            }
        }
        var s = sb.ToString();
        if (stripAccents ?? lowercase)
        {
            s = Runes.Filter(s.Normalize(NormalizationForm.FormD), r => !CharClass.IsNonSpacingMark(r));
        }
        return lowercase ? Runes.Lower(s) : s;
    }

    private static void Append(StringBuilder sb, Rune r)
    {
        if (r.IsBmp)
        {
            sb.Append((char)r.Value);
        }
        else
        {
            sb.Append(r.ToString());
        }
    }
}

/// <summary>tokenizers' Precompiled normalizer: SentencePiece's charsmap applied per grapheme (graphemes under 6
/// UTF-8 bytes as a whole when a rule matches, else per character).</summary>
internal sealed class PrecompiledNormalizer(PrecompiledCharsMap map) : Normalizer
{
    public static Normalizer Create(JsonElement e, string source)
    {
        var b64 = Json.OptionalString(e, "precompiled_charsmap");
        if (string.IsNullOrEmpty(b64))
        {
            return new FuncNormalizer(t => t); // converted from a model without a charsmap ("identity")
        }
        try
        {
            return new PrecompiledNormalizer(new PrecompiledCharsMap(Convert.FromBase64String(b64)));
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            throw new FormatException($"'{source}': the Precompiled normalizer's charsmap is invalid: {ex.Message}", ex);
        }
    }

    public override string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        var graphemes = StringInfo.GetTextElementEnumerator(text);
        while (graphemes.MoveNext())
        {
            string g = graphemes.GetTextElement();
            if (Encoding.UTF8.GetByteCount(g) < 6 && map.FirstPrefix(g) is string whole)
            {
                sb.Append(whole);
                continue;
            }
            foreach (var r in g.EnumerateRunes())
            {
                var part = r.ToString();
                sb.Append(map.FirstPrefix(part) ?? part);
            }
        }
        return sb.ToString();
    }
}

/// <summary>Rune-wise helpers.</summary>
internal static class Runes
{
    public static string Filter(string s, Func<Rune, bool> keep)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.EnumerateRunes())
        {
            if (keep(r))
            {
                if (r.IsBmp)
                {
                    sb.Append((char)r.Value);
                }
                else
                {
                    sb.Append(r.ToString());
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>Full lowercase mapping per character (as Rust's <c>char::to_lowercase</c>; U+0130 gives "i̇").</summary>
    public static string Lower(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.EnumerateRunes())
        {
            var lower = Rune.ToLowerInvariant(r);
            if (r.Value == 0x0130)
            {
                sb.Append("i\u0307");
            }
            else if (lower.IsBmp)
            {
                sb.Append((char)lower.Value);
            }
            else
            {
                sb.Append(lower.ToString());
            }
        }
        return sb.ToString();
    }

    /// <summary>Replaces lone surrogates by U+FFFD, so the text is valid Unicode.</summary>
    public static string Sanitize(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));
            }
        }
        return s;
    }
}
