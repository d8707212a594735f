namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>Read-only darts-clone double-array trie, the format of SentencePiece's precompiled normalization map
/// (also embedded base64 in tokenizer.json's <c>Precompiled</c> normalizer).</summary>
internal sealed class DoubleArrayTrie
{
    private readonly uint[] _units;

    public DoubleArrayTrie(uint[] units) => _units = units;

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Value(uint unit) => unit & ((1u << 31) - 1);

    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    /// <summary>All keys that are prefixes of <paramref name="key"/>, shortest first: (value, length in bytes).</summary>
    public List<(int Value, int Length)> CommonPrefixSearch(ReadOnlySpan<byte> key)
    {
        var results = new List<(int, int)>();
        if (_units.Length == 0)
        {
            return results;
        }
        uint nodePos = 0;
        uint unit = _units[nodePos];
        nodePos ^= Offset(unit);
        for (int i = 0; i < key.Length; i++)
        {
            nodePos ^= key[i];
            if (nodePos >= _units.Length)
            {
                return results;
            }
            unit = _units[nodePos];
            if (Label(unit) != key[i])
            {
                return results;
            }
            nodePos ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (nodePos >= _units.Length)
                {
                    return results;
                }
                results.Add(((int)Value(_units[nodePos]), i + 1));
            }
        }
        return results;
    }
}
