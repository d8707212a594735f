using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>
/// A tokenizer for models trained from scratch that needs no download: text is split by OpenAI's cl100k_base BPE
/// (shipped in the Microsoft.ML.Tokenizers.Data.Cl100kBase package), and only the pieces frequent in the training
/// corpus get their own id; the rest share one unknown id. The embedding table stays small (a few thousand rows
/// instead of 100k). Layout: <c>[CLS] a [SEP] b [SEP]</c> with segment ids 0 then 1.
/// </summary>
public sealed class FittedTiktokenTokenizer : TextTokenizer
{
    internal const string KindName = "fitted-cl100k";

    /// <summary>Padding id.</summary>
    public const int Pad = 0;

    /// <summary>Id shared by pieces outside the fitted vocabulary.</summary>
    public const int Unknown = 1;

    /// <summary>Classification token id (first token).</summary>
    public const int Cls = 2;

    /// <summary>Separator token id.</summary>
    public const int Sep = 3;

    private const int Specials = 4;
    private static readonly Lazy<TiktokenTokenizer> Base = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));
    private readonly int[] _baseIds;
    private readonly Dictionary<int, int> _map;

    private FittedTiktokenTokenizer(int[] baseIds)
    {
        _baseIds = baseIds;
        _map = new Dictionary<int, int>(baseIds.Length);
        for (int i = 0; i < baseIds.Length; i++)
        {
            _map[baseIds[i]] = Specials + i;
        }
    }

    /// <summary>Fits the vocabulary: the <paramref name="maxVocabulary"/> - 4 most frequent cl100k pieces seen at
    /// least <paramref name="minCount"/> times in <paramref name="corpus"/> (ties broken by piece id, so fitting is
    /// deterministic).</summary>
    public static FittedTiktokenTokenizer Fit(IEnumerable<string?> corpus, int maxVocabulary = 8192, int minCount = 2, int maxCharsPerText = 4096)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (maxVocabulary <= Specials)
        {
            throw new ArgumentOutOfRangeException(nameof(maxVocabulary), maxVocabulary, $"The vocabulary needs more than {Specials} entries.");
        }
        var counter = new VocabularyCounter(maxCharsPerText);
        foreach (var text in corpus)
        {
            counter.Add(text);
        }
        return counter.Build(maxVocabulary, minCount);
    }

    /// <summary>
    /// Counts cl100k pieces text by text, so that a vocabulary is fitted in one streaming pass over a corpus of any
    /// size: memory is bounded by the number of distinct cl100k pieces seen (at most the ~100k of cl100k), not by the
    /// corpus. Each text contributes at most its first <c>maxCharsPerText</c> characters.
    /// </summary>
    public sealed class VocabularyCounter
    {
        private readonly Dictionary<int, int> _counts = new();
        private readonly int _maxCharsPerText;

        /// <summary>A counter that reads at most <paramref name="maxCharsPerText"/> characters of each text.</summary>
        public VocabularyCounter(int maxCharsPerText = 4096) => _maxCharsPerText = maxCharsPerText;

        /// <summary>Counts the pieces of one text (null or empty: nothing).</summary>
        public void Add(string? text)
        {
            if (string.IsNullOrEmpty(text))
            {
                return;
            }
            foreach (int id in Base.Value.EncodeToIds(text.Length > _maxCharsPerText ? text[.._maxCharsPerText] : text))
            {
                _counts[id] = _counts.GetValueOrDefault(id) + 1;
            }
        }

        /// <summary>The fitted tokenizer: the <paramref name="maxVocabulary"/> - 4 most frequent pieces seen at least
        /// <paramref name="minCount"/> times (ties broken by piece id).</summary>
        public FittedTiktokenTokenizer Build(int maxVocabulary, int minCount = 2)
        {
            if (maxVocabulary <= Specials)
            {
                throw new ArgumentOutOfRangeException(nameof(maxVocabulary), maxVocabulary, $"The vocabulary needs more than {Specials} entries.");
            }
            var chosen = _counts.Where(kv => kv.Value >= minCount)
                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
                .Take(maxVocabulary - Specials).Select(kv => kv.Key).ToArray();
            return new FittedTiktokenTokenizer(chosen);
        }
    }

    /// <inheritdoc />
    public override int VocabSize => Specials + _baseIds.Length;

    /// <inheritdoc />
    public override int PadId => Pad;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text) =>
        Base.Value.EncodeToIds(text).Select(id => _map.TryGetValue(id, out int m) ? m : Unknown).ToList();

    /// <summary>A pre-split word as in running text: the first on its own, every other after a space (cl100k's pieces
    /// carry their leading space).</summary>
    protected override IReadOnlyList<int> EncodeWord(string word, int index) => EncodePlain(index == 0 ? word : " " + word);

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => pair ? 3 : 2;

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) =>
        AssembleClsSep(Cls, Sep, first, second);

    /// <inheritdoc />
    protected override void SavePayload(BinaryWriter writer)
    {
        writer.Write(_baseIds.Length);
        foreach (int id in _baseIds)
        {
            writer.Write(id);
        }
    }

    internal static FittedTiktokenTokenizer LoadPayload(BinaryReader reader)
    {
        int n = reader.ReadInt32();
        if (n < 0 || n > 1 << 20)
        {
            throw new InvalidDataException($"Fitted vocabulary claims {n} entries.");
        }
        var ids = new int[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = reader.ReadInt32();
        }
        return new FittedTiktokenTokenizer(ids);
    }
}
