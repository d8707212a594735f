using Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>BERT's WordPiece tokenizer (<c>vocab.txt</c>): <c>[CLS] a [SEP] b [SEP]</c>, segment ids 0 then 1.
/// Built as Hugging Face converts a <c>vocab.txt</c> to its fast tokenizer: BertNormalizer (clean text, CJK padding,
/// accent stripping when lowercasing, lowercase), BertPreTokenizer, WordPiece with <c>##</c> continuations and
/// <c>[UNK]</c>; the special tokens in the vocabulary are matched whole in the text.</summary>
public sealed class WordPieceTextTokenizer : TextTokenizer
{
    internal const string KindName = "wordpiece";
    private static readonly string[] SpecialTokens = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    private readonly string _vocab;
    private readonly bool _lowerCase;
    private readonly TokenizerPipeline _pipeline;
    private readonly int _cls, _sep;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Creates the tokenizer from the text of a <c>vocab.txt</c> (one token per line, the id is the line
    /// number).</summary>
    /// <exception cref="FormatException">The vocabulary lacks <c>[UNK]</c>, <c>[CLS]</c>, <c>[SEP]</c> or <c>[PAD]</c>.</exception>
    public WordPieceTextTokenizer(string vocabText, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocabText);
        _vocab = vocabText;
        _lowerCase = lowerCase;
        var lines = vocabText.Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            vocab[lines[i].TrimEnd('\r')] = i;
        }
        int Id(string token) => vocab.TryGetValue(token, out int id)
            ? id : throw new FormatException($"vocab.txt is not a valid WordPiece vocabulary: it has no '{token}' token.");
        _ids = vocab;
        var model = new WordPieceModel(vocab, Id("[UNK]"), "##", 100);
        _cls = Id("[CLS]");
        _sep = Id("[SEP]");
        PadId = Id("[PAD]");
        var added = SpecialTokens.Where(vocab.ContainsKey).Select(t => new AddedToken(vocab[t], t, false, false, false, false, true)).ToList();
        _pipeline = new TokenizerPipeline(added, new BertNormalizer(true, true, null, lowerCase), new FuncPreTokenizer(p => p.SelectMany(PreTokenizer.BertSplit).ToList()),
            model, HuggingFace.PostProcessor.None);
        VocabSize = count;
    }

    /// <inheritdoc />
    public override int VocabSize { get; }

    /// <inheritdoc />
    public override int PadId { get; }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Whether text is lowercased (and accents stripped) before tokenizing.</summary>
    public bool LowerCase => _lowerCase;

    /// <summary>The text of the <c>vocab.txt</c> this tokenizer was built from.</summary>
    public string VocabularyText => _vocab;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, int>? Vocabulary => _ids;

    /// <inheritdoc />
    public override IEnumerable<int> SpecialTokenIds => SpecialTokens.Where(_ids.ContainsKey).Select(t => _ids[t]);

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text) => _pipeline.Encode(text);

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => pair ? 3 : 2;

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) =>
        AssembleClsSep(_cls, _sep, first, second);

    /// <inheritdoc />
    protected override void SavePayload(BinaryWriter writer)
    {
        writer.Write(_lowerCase);
        WriteText(writer, _vocab);
    }

    internal static WordPieceTextTokenizer LoadPayload(BinaryReader reader)
    {
        bool lower = reader.ReadBoolean();
        return new WordPieceTextTokenizer(ReadText(reader), lower);
    }
}
