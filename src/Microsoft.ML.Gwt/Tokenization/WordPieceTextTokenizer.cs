using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Gwt.Tokenization;

/// <summary>BERT's WordPiece tokenizer (<c>vocab.txt</c>): <c>[CLS] a [SEP] b [SEP]</c>, segment ids 0 then 1.</summary>
public sealed class WordPieceTextTokenizer : TextTokenizer
{
    internal const string KindName = "wordpiece";
    private readonly string _vocab;
    private readonly bool _lowerCase;
    private readonly BertTokenizer _tokenizer;
    private readonly int _vocabSize;

    /// <summary>Creates the tokenizer from the text of a <c>vocab.txt</c>.</summary>
    public WordPieceTextTokenizer(string vocabText, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocabText);
        _vocab = vocabText;
        _lowerCase = lowerCase;
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(vocabText));
        try
        {
            _tokenizer = BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = lowerCase });
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("vocab.txt is not a valid WordPiece vocabulary: " + ex.Message, ex);
        }
        _vocabSize = vocabText.Split('\n').Count(l => l.TrimEnd('\r').Length > 0);
    }

    /// <inheritdoc />
    public override int VocabSize => _vocabSize;

    /// <inheritdoc />
    public override int PadId => _tokenizer.PaddingTokenId;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text) => _tokenizer.EncodeToIds(text, addSpecialTokens: false);

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => pair ? 3 : 2;

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) =>
        AssembleClsSep(_tokenizer.ClassificationTokenId, _tokenizer.SeparatorTokenId, first, second);

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
