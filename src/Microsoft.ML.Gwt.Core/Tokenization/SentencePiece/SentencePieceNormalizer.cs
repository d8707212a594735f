using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>SentencePiece's normalizer (normalizer.cc): user-defined symbols are kept as they are, the rest goes
/// through the precompiled map (longest rule), then whitespace is trimmed/collapsed, spaces become U+2581 and a dummy
/// prefix is added, as the model's NormalizerSpec says.</summary>
internal sealed class SentencePieceNormalizer
{
    private static readonly byte[] SpaceSymbol = Encoding.UTF8.GetBytes("\u2581");
    private static readonly byte[] Replacement = Encoding.UTF8.GetBytes("\uFFFD");
    private readonly SentencePieceModel _model;
    private readonly PrecompiledCharsMap? _map;
    private readonly PrefixMatcher _userDefined;

    public SentencePieceNormalizer(SentencePieceModel model, PrefixMatcher userDefined)
    {
        _model = model;
        _map = model.PrecompiledCharsMap.Length > 0 ? new PrecompiledCharsMap(model.PrecompiledCharsMap) : null;
        _userDefined = userDefined;
    }

    /// <summary>The normalized text (with U+2581 for spaces when the model escapes whitespace).</summary>
    public string Normalize(string text)
    {
        var input = Encoding.UTF8.GetBytes(text).AsSpan();
        var output = new List<byte>(input.Length * 3);
        bool removeExtra = _model.RemoveExtraWhitespaces;
        if (removeExtra)
        {
            while (!input.IsEmpty)
            {
                var (piece, consumed) = NormalizePrefix(input);
                if (!(piece.Length == 1 && piece[0] == (byte)' '))
                {
                    break;
                }
                input = input[consumed..];
            }
        }
        if (input.IsEmpty)
        {
            return "";
        }
        byte[] space = _model.EscapeWhitespaces ? SpaceSymbol : new[] { (byte)' ' };
        if (!_model.TreatWhitespaceAsSuffix && _model.AddDummyPrefix)
        {
            output.AddRange(space);
        }
        bool isPrevSpace = removeExtra;
        while (!input.IsEmpty)
        {
            var (piece, consumed) = NormalizePrefix(input);
            var sp = piece.AsSpan();
            while (isPrevSpace && sp.Length > 0 && sp[0] == (byte)' ')
            {
                sp = sp[1..];
            }
            if (!sp.IsEmpty)
            {
                foreach (byte b in sp)
                {
                    if (b == (byte)' ' && _model.EscapeWhitespaces)
                    {
                        output.AddRange(SpaceSymbol);
                    }
                    else
                    {
                        output.Add(b);
                    }
                }
                isPrevSpace = sp[^1] == (byte)' ';
            }
            input = input[consumed..];
            if (!removeExtra)
            {
                isPrevSpace = false;
            }
        }
        if (removeExtra)
        {
            while (EndsWith(output, space))
            {
                output.RemoveRange(output.Count - space.Length, space.Length);
            }
        }
        if (_model.TreatWhitespaceAsSuffix && _model.AddDummyPrefix)
        {
            output.AddRange(space);
        }
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private (byte[] Piece, int Consumed) NormalizePrefix(ReadOnlySpan<byte> input)
    {
        int user = _userDefined.Match(input);
        if (user > 0)
        {
            return (input[..user].ToArray(), user);
        }
        if (_map is not null)
        {
            var (replacement, consumed) = _map.LongestPrefix(input);
            if (replacement is not null)
            {
                return (replacement, consumed);
            }
        }
        int length = Utf8CharLength(input);
        return length > 0 ? (input[..length].ToArray(), length) : (Replacement, 1);
    }

    /// <summary>The byte length of the valid UTF-8 character at the start of <paramref name="s"/>, 0 if invalid.</summary>
    internal static int Utf8CharLength(ReadOnlySpan<byte> s) =>
        Rune.DecodeFromUtf8(s, out _, out int consumed) == System.Buffers.OperationStatus.Done ? consumed : 0;

    private static bool EndsWith(List<byte> output, byte[] suffix)
    {
        if (output.Count < suffix.Length)
        {
            return false;
        }
        for (int i = 0; i < suffix.Length; i++)
        {
            if (output[output.Count - suffix.Length + i] != suffix[i])
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Longest-match lookup of a fixed set of strings (SentencePiece's PrefixMatcher for user-defined symbols).</summary>
internal sealed class PrefixMatcher
{
    private readonly HashSet<string> _keys;
    private readonly int _maxBytes;

    public PrefixMatcher(IEnumerable<string> keys)
    {
        _keys = new HashSet<string>(keys, StringComparer.Ordinal);
        _maxBytes = _keys.Count == 0 ? 0 : _keys.Max(k => Encoding.UTF8.GetByteCount(k));
    }

    public bool IsEmpty => _keys.Count == 0;

    /// <summary>Byte length of the longest key that prefixes <paramref name="input"/>, 0 when none.</summary>
    public int Match(ReadOnlySpan<byte> input)
    {
        for (int n = Math.Min(_maxBytes, input.Length); n > 0; n--)
        {
            if (_keys.Contains(Encoding.UTF8.GetString(input[..n])) && IsBoundary(input, n))
            {
                return n;
            }
        }
        return 0;
    }

    /// <summary>Length in chars of the longest key that prefixes <paramref name="text"/>, 0 when none.</summary>
    public int Match(ReadOnlySpan<char> text)
    {
        if (_keys.Count == 0)
        {
            return 0;
        }
        var lookup = _keys.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int n = Math.Min(_maxBytes, text.Length); n > 0; n--)
        {
            if (lookup.Contains(text[..n]))
            {
                return n;
            }
        }
        return 0;
    }

    private static bool IsBoundary(ReadOnlySpan<byte> input, int n) => n == input.Length || (input[n] & 0xC0) != 0x80;
}
