using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>The kind of a SentencePiece vocabulary entry (<c>ModelProto.SentencePiece.Type</c>).</summary>
internal enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>The fields of a SentencePiece <c>.model</c> file (a <c>ModelProto</c>) that encoding needs.</summary>
internal sealed class SentencePieceModel
{
    public const int Unigram = 1, Bpe = 2;

    public List<string> Pieces { get; } = new();

    public List<float> Scores { get; } = new();

    public List<PieceType> Types { get; } = new();

    /// <summary>TrainerSpec.model_type: 1 Unigram, 2 BPE, 3 word, 4 char.</summary>
    public int ModelType { get; private set; } = Unigram;

    public bool ByteFallback { get; private set; }

    public bool TreatWhitespaceAsSuffix { get; private set; }

    public string NormalizerName { get; private set; } = "";

    public byte[] PrecompiledCharsMap { get; private set; } = Array.Empty<byte>();

    public bool AddDummyPrefix { get; private set; } = true;

    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>Parses a model file's bytes; <paramref name="source"/> names the file in errors.</summary>
    /// <exception cref="FormatException">The bytes are not a SentencePiece model.</exception>
    public static SentencePieceModel Parse(byte[] data, string source)
    {
        var model = new SentencePieceModel();
        try
        {
            var reader = new ProtoReader(data);
            while (!reader.AtEnd)
            {
                var (field, wire) = reader.ReadTag();
                switch (field, wire)
                {
                    case (1, 2): model.ReadPiece(reader.ReadBytes()); break;
                    case (2, 2): model.ReadTrainerSpec(reader.ReadBytes()); break;
                    case (3, 2): model.ReadNormalizerSpec(reader.ReadBytes()); break;
                    default: reader.Skip(wire); break;
                }
            }
        }
        catch (InvalidDataException ex)
        {
            throw new FormatException($"'{source}' is not a SentencePiece model: {ex.Message}.", ex);
        }
        if (model.Pieces.Count == 0)
        {
            throw new FormatException($"'{source}' is not a SentencePiece model: it has no pieces.");
        }
        if (model.ModelType is not (Unigram or Bpe))
        {
            throw new NotSupportedException(
                $"'{source}' is a SentencePiece {(model.ModelType == 3 ? "word" : model.ModelType == 4 ? "char" : model.ModelType.ToString())} model; only Unigram and BPE models are supported.");
        }
        return model;
    }

    private void ReadPiece(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        string piece = "";
        float score = 0;
        var type = PieceType.Normal;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, 2): piece = Encoding.UTF8.GetString(r.ReadBytes()); break;
                case (2, 5): score = r.ReadFloat(); break;
                case (3, 0): type = (PieceType)(int)r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        if (piece.Length == 0)
        {
            throw new InvalidDataException($"piece {Pieces.Count} is empty");
        }
        Pieces.Add(piece);
        Scores.Add(score);
        Types.Add(type);
    }

    private void ReadTrainerSpec(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (3, 0): ModelType = (int)r.ReadVarint(); break;
                case (24, 0): TreatWhitespaceAsSuffix = r.ReadVarint() != 0; break;
                case (35, 0): ByteFallback = r.ReadVarint() != 0; break;
                default: r.Skip(wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtoReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, 2): NormalizerName = Encoding.UTF8.GetString(r.ReadBytes()); break;
                case (2, 2): PrecompiledCharsMap = r.ReadBytes().ToArray(); break;
                case (3, 0): AddDummyPrefix = r.ReadVarint() != 0; break;
                case (4, 0): RemoveExtraWhitespaces = r.ReadVarint() != 0; break;
                case (5, 0): EscapeWhitespaces = r.ReadVarint() != 0; break;
                default: r.Skip(wire); break;
            }
        }
    }
}
