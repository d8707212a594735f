using System.Globalization;
using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>Character classes as Hugging Face tokenizers (Rust) define them, on Unicode scalar values.</summary>
internal static class CharClass
{
    /// <summary>Rust's <c>char::is_whitespace</c> (the Unicode White_Space property).</summary>
    public static bool IsWhitespace(Rune r) => r.Value switch
    {
        >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>BERT's control characters: category C*, except tab, newline and carriage return.</summary>
    public static bool IsControl(Rune r) => r.Value is not (0x09 or 0x0A or 0x0D) && Category(r) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    /// <summary>BERT's punctuation: ASCII punctuation or a Unicode P* category.</summary>
    public static bool IsPunctuation(Rune r) =>
        (r.IsAscii && char.IsAsciiLetterOrDigit((char)r.Value) == false && r.Value is > 32 and < 127) || Category(r) is
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or
            UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or
            UnicodeCategory.OtherPunctuation;

    /// <summary>The CJK ideograph blocks BERT pads with spaces.</summary>
    public static bool IsChinese(Rune r) => r.Value is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
        or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF)
        or (>= 0x2F800 and <= 0x2FA1F);

    public static bool IsNonSpacingMark(Rune r) => Category(r) == UnicodeCategory.NonSpacingMark;

    public static bool IsCombiningMark(Rune r) => Category(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    public static bool IsLetter(Rune r) => Category(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or
        UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;

    public static bool IsNumber(Rune r) => Category(r) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    public static bool IsDigit(Rune r) => Category(r) == UnicodeCategory.DecimalDigitNumber;

    /// <summary>Regex <c>\w</c>: letters, marks, decimal digits, connector punctuation.</summary>
    public static bool IsWord(Rune r) => IsLetter(r) || IsCombiningMark(r) || IsDigit(r) || Category(r) == UnicodeCategory.ConnectorPunctuation;

    private static UnicodeCategory Category(Rune r) => Rune.GetUnicodeCategory(r);
}
