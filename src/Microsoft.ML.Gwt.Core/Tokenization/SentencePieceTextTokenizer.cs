using Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>How a model family wraps SentencePiece ids: its special tokens, id offset and pair layout.</summary>
public enum SentencePieceLayout
{
    /// <summary>XLM-RoBERTa (<c>sentencepiece.bpe.model</c>): fairseq ids <c>&lt;s&gt;</c>=0, <c>&lt;pad&gt;</c>=1,
    /// <c>&lt;/s&gt;</c>=2, <c>&lt;unk&gt;</c>=3, pieces shifted by one; <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>,
    /// segment ids all 0.</summary>
    XlmRoberta,

    /// <summary>CamemBERT (<c>sentencepiece.bpe.model</c>): pieces shifted by four, <c>&lt;pad&gt;</c>=1,
    /// <c>&lt;unk&gt;</c>=3; RoBERTa's pair layout.</summary>
    Camembert,

    /// <summary>DeBERTa-v2/v3 (<c>spm.model</c>) and ALBERT (<c>spiece.model</c>): ids as in the model, whose
    /// <c>[CLS]</c>, <c>[SEP]</c> and <c>[PAD]</c> pieces wrap <c>[CLS] a [SEP] b [SEP]</c>, segment ids 0 then 1.</summary>
    ClsSep,
}

/// <summary>A SentencePiece model file (Unigram or BPE) with a model family's special-token layout; encodes exactly
/// as the SentencePiece library does.</summary>
public sealed class SentencePieceTextTokenizer : TextTokenizer
{
    internal const string KindName = "sentencepiece";
    private readonly byte[] _modelBytes;
    private readonly SentencePieceEncoder _encoder;
    private readonly SentencePieceLayout _layout;
    private readonly bool _lowerCase;
    private readonly int _cls, _sep, _pad, _unk, _offset;

    /// <summary>Creates the tokenizer from the bytes of a SentencePiece <c>.model</c> file.</summary>
    /// <param name="modelBytes">The model file's contents.</param>
    /// <param name="layout">The family's special tokens and ids.</param>
    /// <param name="lowerCase">Lowercase text before encoding (the tokenizer_config's <c>do_lower_case</c>).</param>
    /// <param name="source">The file name used in error messages.</param>
    /// <exception cref="FormatException">The bytes are not a model, or lack a piece the layout needs.</exception>
    /// <exception cref="NotSupportedException">The model is a word or char model.</exception>
    public SentencePieceTextTokenizer(byte[] modelBytes, SentencePieceLayout layout, bool lowerCase = false, string source = "SentencePiece model")
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        _modelBytes = modelBytes;
        _layout = layout;
        _lowerCase = lowerCase;
        var model = SentencePieceModel.Parse(modelBytes, source);
        _encoder = new SentencePieceEncoder(model, source);
        int Piece(string piece) => _encoder.IdOf(piece) is int id and >= 0
            ? id : throw new FormatException($"'{source}' has no '{piece}' piece, which the {layout} layout needs.");
        switch (layout)
        {
            case SentencePieceLayout.XlmRoberta:
                (_offset, _cls, _pad, _sep, _unk) = (1, 0, 1, 2, 3);
                break;
            case SentencePieceLayout.Camembert:
                (_offset, _pad, _unk) = (4, 1, 3);
                _cls = Piece("<s>") + 4;
                _sep = Piece("</s>") + 4;
                break;
            default:
                _offset = 0;
                _cls = Piece("[CLS]");
                _sep = Piece("[SEP]");
                _pad = Piece("[PAD]");
                _unk = _encoder.UnknownId;
                break;
        }
        VocabSize = _encoder.Count + _offset;
    }

    /// <inheritdoc />
    public override int VocabSize { get; }

    /// <inheritdoc />
    public override int PadId => _pad;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>The family layout.</summary>
    public SentencePieceLayout Layout => _layout;

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text)
    {
        var ids = _encoder.Encode(_lowerCase ? text.ToLowerInvariant() : text);
        if (_offset != 0)
        {
            for (int i = 0; i < ids.Count; i++)
            {
                ids[i] = ids[i] == _encoder.UnknownId ? _unk : ids[i] + _offset;
            }
        }
        return ids;
    }

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => _layout == SentencePieceLayout.ClsSep ? (pair ? 3 : 2) : (pair ? 4 : 2);

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) =>
        _layout == SentencePieceLayout.ClsSep ? AssembleClsSep(_cls, _sep, first, second) : AssembleRoberta(_cls, _sep, first, second);

    /// <inheritdoc />
    protected override void SavePayload(BinaryWriter writer)
    {
        writer.Write((int)_layout);
        writer.Write(_lowerCase);
        writer.Write(_modelBytes.Length);
        writer.Write(_modelBytes);
    }

    internal static SentencePieceTextTokenizer LoadPayload(BinaryReader reader)
    {
        var layout = (SentencePieceLayout)reader.ReadInt32();
        if (!Enum.IsDefined(layout))
        {
            throw new InvalidDataException($"Unknown SentencePiece layout {(int)layout}.");
        }
        bool lower = reader.ReadBoolean();
        int n = reader.ReadInt32();
        if (n < 0 || n > 256 << 20)
        {
            throw new InvalidDataException($"SentencePiece model claims {n} bytes.");
        }
        var bytes = reader.ReadBytes(n);
        if (bytes.Length != n)
        {
            throw new EndOfStreamException("SentencePiece model data is truncated.");
        }
        return new SentencePieceTextTokenizer(bytes, layout, lower, "saved SentencePiece model");
    }
}
