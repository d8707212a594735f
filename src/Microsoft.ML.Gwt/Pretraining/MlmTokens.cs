using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>
/// What masked-language-model pre-training needs to know about a tokenizer's ids: the mask, classification,
/// separator and padding ids, which ids are special (never masked, never drawn as random replacements), and which ids
/// continue a word (for whole-word masking: WordPiece's <c>##</c> pieces, byte-level BPE pieces without the <c>Ġ</c>
/// space marker, SentencePiece pieces without <c>▁</c>).
/// </summary>
internal sealed class MlmTokens
{
    private readonly bool[] _special;
    private readonly bool[] _continuation;

    private MlmTokens(int mask, int cls, int sep, int pad, bool[] special, bool[] continuation, int[] ordinary)
    {
        MaskId = mask;
        ClsId = cls;
        SepId = sep;
        PadId = pad;
        _special = special;
        _continuation = continuation;
        OrdinaryIds = ordinary;
    }

    public int MaskId { get; }

    public int ClsId { get; }

    public int SepId { get; }

    public int PadId { get; }

    /// <summary>The number of ids.</summary>
    public int VocabSize => _special.Length;

    /// <summary>Ids that may replace a chosen token at random (every non-special id).</summary>
    public int[] OrdinaryIds { get; }

    public bool IsSpecial(int id) => (uint)id >= (uint)_special.Length || _special[id];

    public bool ContinuesWord(int id) => (uint)id < (uint)_continuation.Length && _continuation[id];

    /// <summary>Reads the roles from <paramref name="tokenizer"/>.</summary>
    /// <exception cref="NotSupportedException">The tokenizer has no named vocabulary or no mask token (the message names it).</exception>
    public static MlmTokens From(TextTokenizer tokenizer, string source)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var vocab = tokenizer.Vocabulary ?? throw new NotSupportedException(
            $"{source}: the tokenizer ({tokenizer.Kind}) has no named vocabulary, so it has no mask token; pre-training needs a WordPiece, BPE or tokenizer.json tokenizer with [MASK] or <mask>.");
        int mask = vocab.TryGetValue("[MASK]", out int m) ? m : vocab.TryGetValue("<mask>", out m) ? m
            : throw new NotSupportedException($"{source}: the tokenizer has no mask token ([MASK] or <mask>), which masked-language-model pre-training needs.");
        var empty = tokenizer.Encode("", null, 8).Ids;
        int cls = empty[0], sep = empty[^1];
        int size = Math.Max(tokenizer.VocabSize, vocab.Values.DefaultIfEmpty(0).Max() + 1);
        var special = new bool[size];
        foreach (int id in tokenizer.SpecialTokenIds.Concat(new[] { mask, cls, sep, tokenizer.PadId }).Concat(empty))
        {
            if ((uint)id < (uint)size)
            {
                special[id] = true;
            }
        }
        var continuation = new bool[size];
        var scheme = Scheme(vocab.Keys);
        foreach (var (token, id) in vocab)
        {
            if ((uint)id < (uint)size && !special[id])
            {
                continuation[id] = scheme switch
                {
                    WordScheme.WordPiece => token.StartsWith("##", StringComparison.Ordinal),
                    WordScheme.ByteLevel => !token.StartsWith('\u0120'),
                    WordScheme.Metaspace => !token.StartsWith('\u2581'),
                    _ => false,
                };
            }
        }
        var ordinary = vocab.Values.Where(id => (uint)id < (uint)size && !special[id]).Distinct().Order().ToArray();
        return new MlmTokens(mask, cls, sep, tokenizer.PadId, special, continuation, ordinary);
    }

    private enum WordScheme
    {
        None,
        WordPiece,
        ByteLevel,
        Metaspace,
    }

    private static WordScheme Scheme(IEnumerable<string> tokens)
    {
        int wordPiece = 0, byteLevel = 0, metaspace = 0;
        foreach (var t in tokens)
        {
            if (t.StartsWith("##", StringComparison.Ordinal)) wordPiece++;
            else if (t.StartsWith('\u0120')) byteLevel++;
            else if (t.StartsWith('\u2581')) metaspace++;
        }
        int best = Math.Max(wordPiece, Math.Max(byteLevel, metaspace));
        return best == 0 ? WordScheme.None : best == wordPiece ? WordScheme.WordPiece : best == byteLevel ? WordScheme.ByteLevel : WordScheme.Metaspace;
    }
}
