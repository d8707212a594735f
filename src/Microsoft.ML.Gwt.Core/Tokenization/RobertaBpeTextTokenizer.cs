using System.Text;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>RoBERTa's byte-level BPE (<c>vocab.json</c> + <c>merges.txt</c>): <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>, segment ids all 0.</summary>
public sealed class RobertaBpeTextTokenizer : TextTokenizer
{
    internal const string KindName = "roberta-bpe";
    private readonly string _vocab, _merges;
    private readonly BpeTokenizer _tokenizer;
    private readonly int _bos, _eos, _pad, _vocabSize;

    /// <summary>Creates the tokenizer from the texts of <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    public RobertaBpeTextTokenizer(string vocabJson, string mergesText)
    {
        ArgumentNullException.ThrowIfNull(vocabJson);
        ArgumentNullException.ThrowIfNull(mergesText);
        _vocab = vocabJson;
        _merges = mergesText;
        Dictionary<string, int>? vocabulary;
        try
        {
            vocabulary = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException("vocab.json is not a JSON object of token ids: " + ex.Message, ex);
        }
        if (vocabulary is null || vocabulary.Count == 0)
        {
            throw new FormatException("vocab.json is empty.");
        }
        var merges = mergesText.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var specials = new[] { "<s>", "</s>", "<pad>", "<unk>", "<mask>" }.Where(vocabulary.ContainsKey).ToDictionary(t => t, t => vocabulary[t]);
        try
        {
            _tokenizer = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                UnknownToken = vocabulary.ContainsKey("<unk>") ? "<unk>" : null,
                PreTokenizer = RobertaPreTokenizer.Instance,
                SpecialTokens = specials,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            throw new FormatException("vocab.json/merges.txt are not a valid byte-level BPE vocabulary: " + ex.Message, ex);
        }
        var vocab = _tokenizer.Vocabulary;
        int Id(string token) => vocab.TryGetValue(token, out int id)
            ? id : throw new FormatException($"vocab.json has no '{token}' token, which RoBERTa needs.");
        _bos = Id("<s>");
        _eos = Id("</s>");
        _pad = Id("<pad>");
        _vocabSize = vocab.Values.Max() + 1;
    }

    /// <inheritdoc />
    public override int VocabSize => _vocabSize;

    /// <inheritdoc />
    public override int PadId => _pad;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, int>? Vocabulary => _tokenizer.Vocabulary;

    /// <inheritdoc />
    public override IEnumerable<int> SpecialTokenIds =>
        new[] { "<s>", "</s>", "<pad>", "<unk>", "<mask>" }.Where(_tokenizer.Vocabulary.ContainsKey).Select(t => _tokenizer.Vocabulary[t]);

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text) =>
        _tokenizer.EncodeToIds(text);

    /// <summary>A pre-split word after a space, as Hugging Face's RoBERTa tokenizers encode pre-split words (they
    /// refuse them without <c>add_prefix_space=True</c>).</summary>
    protected override IReadOnlyList<int> EncodeWord(string word, int index) => EncodePlain(" " + word);

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => pair ? 4 : 2;

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) =>
        AssembleRoberta(_bos, _eos, first, second);

    /// <inheritdoc />
    protected override void SavePayload(BinaryWriter writer)
    {
        WriteText(writer, _vocab);
        WriteText(writer, _merges);
    }

    internal static RobertaBpeTextTokenizer LoadPayload(BinaryReader reader) => new(ReadText(reader), ReadText(reader));
}
