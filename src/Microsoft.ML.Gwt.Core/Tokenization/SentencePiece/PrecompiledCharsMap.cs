using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>SentencePiece's precompiled normalization rules (e.g. <c>nmt_nfkc</c>): a trie from UTF-8 input prefixes
/// to offsets of NUL-terminated replacement strings.</summary>
internal sealed class PrecompiledCharsMap
{
    private readonly DoubleArrayTrie _trie;
    private readonly byte[] _normalized;

    /// <summary>Decodes the blob: a little-endian uint32 trie size in bytes, the trie units, then the strings.</summary>
    public PrecompiledCharsMap(ReadOnlySpan<byte> blob)
    {
        if (blob.Length <= 4)
        {
            throw new InvalidDataException("the precompiled normalization map is too short");
        }
        uint trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize % 4 != 0 || trieSize > blob.Length - 4)
        {
            throw new InvalidDataException($"the precompiled normalization map claims a {trieSize}-byte trie in a {blob.Length}-byte blob");
        }
        var units = new uint[trieSize / 4];
        for (int i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + 4 * i, 4));
        }
        _trie = new DoubleArrayTrie(units);
        _normalized = blob[(4 + (int)trieSize)..].ToArray();
    }

    /// <summary>The longest rule matching a prefix of <paramref name="input"/>: its replacement and how many input
    /// bytes it consumes; (null, 0) when none matches.</summary>
    public (byte[]? Replacement, int Consumed) LongestPrefix(ReadOnlySpan<byte> input)
    {
        var matches = _trie.CommonPrefixSearch(input);
        if (matches.Count == 0)
        {
            return (null, 0);
        }
        var (value, length) = matches[0];
        foreach (var m in matches)
        {
            if (m.Length > length)
            {
                (value, length) = m;
            }
        }
        return (Replacement(value), length);
    }

    /// <summary>Hugging Face's <c>Precompiled</c> lookup: the first (shortest) rule matching a prefix of
    /// <paramref name="chunk"/>, as text; null when none.</summary>
    public string? FirstPrefix(string chunk)
    {
        var matches = _trie.CommonPrefixSearch(Encoding.UTF8.GetBytes(chunk));
        return matches.Count == 0 ? null : Encoding.UTF8.GetString(Replacement(matches[0].Value));
    }

    private byte[] Replacement(int offset)
    {
        if (offset < 0 || offset >= _normalized.Length)
        {
            throw new InvalidDataException($"the precompiled normalization map points outside its strings ({offset})");
        }
        int end = Array.IndexOf(_normalized, (byte)0, offset);
        return _normalized[offset..(end < 0 ? _normalized.Length : end)];
    }
}
