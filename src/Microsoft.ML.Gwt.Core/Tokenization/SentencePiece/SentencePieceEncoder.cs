using System.Text;

namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>
/// Encodes text to SentencePiece ids exactly as the C++ library does (sentencepiece 0.1.9x): normalization, then the
/// Unigram model's Viterbi search (unigram_model.cc, EncodeOptimized) or the BPE model's score-ordered merges
/// (bpe_model.cc), then byte fallback for unknown pieces or merging of consecutive unknown pieces
/// (sentencepiece_processor.cc, PopulateSentencePieceText).
/// </summary>
internal sealed class SentencePieceEncoder
{
    private const float UnkPenalty = 10.0f;
    private readonly SentencePieceModel _model;
    private readonly SentencePieceNormalizer _normalizer;
    private readonly PrefixMatcher _userDefined;
    private readonly Dictionary<string, int> _pieces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _reserved = new(StringComparer.Ordinal);
    private readonly int _maxPieceChars;
    private readonly float _minScore = float.MaxValue, _maxScore = float.MinValue;

    public SentencePieceEncoder(SentencePieceModel model, string source)
    {
        _model = model;
        UnknownId = -1;
        for (int i = 0; i < model.Pieces.Count; i++)
        {
            var type = model.Types[i];
            var target = type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused ? _pieces : _reserved;
            target.TryAdd(model.Pieces[i], i);
            if (type == PieceType.Normal)
            {
                _minScore = Math.Min(_minScore, model.Scores[i]);
                _maxScore = Math.Max(_maxScore, model.Scores[i]);
            }
            if (type == PieceType.Unknown && UnknownId < 0)
            {
                UnknownId = i;
            }
        }
        if (UnknownId < 0)
        {
            throw new FormatException($"'{source}' has no unknown piece.");
        }
        _maxPieceChars = _pieces.Keys.Max(p => p.Length);
        _userDefined = new PrefixMatcher(Enumerable.Range(0, model.Pieces.Count)
            .Where(i => model.Types[i] == PieceType.UserDefined).Select(i => model.Pieces[i]));
        _normalizer = new SentencePieceNormalizer(model, _userDefined);
    }

    /// <summary>The id of the unknown piece.</summary>
    public int UnknownId { get; }

    /// <summary>The number of pieces.</summary>
    public int Count => _model.Pieces.Count;

    /// <summary>The id of <paramref name="piece"/> (control pieces included), or -1.</summary>
    public int IdOf(string piece) =>
        _reserved.TryGetValue(piece, out int id) || _pieces.TryGetValue(piece, out id) ? id : -1;

    /// <summary>The piece with id <paramref name="id"/>.</summary>
    public string PieceOf(int id) => _model.Pieces[id];

    /// <summary>The ids of <paramref name="text"/>, as <c>SentencePieceProcessor.encode(text)</c> returns them.</summary>
    public List<int> Encode(string text)
    {
        var normalized = _normalizer.Normalize(text);
        var pieces = _model.ModelType == SentencePieceModel.Bpe ? EncodeBpe(normalized) : EncodeUnigram(normalized);
        return Finish(pieces);
    }

    private List<(string Piece, int Id)> EncodeUnigram(string s)
    {
        var lookup = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = s.Length;
        var bestScore = new float[size + 1];
        var startsAt = new int[size + 1];
        var ids = new int[size + 1];
        Array.Fill(startsAt, -1);
        float unkScore = _minScore - UnkPenalty;
        int start = 0;
        while (start < size)
        {
            float tillHere = bestScore[start];
            int charLength = char.IsHighSurrogate(s[start]) && start + 1 < size ? 2 : 1;
            bool hasSingle = false;
            for (int end = start + 1; end <= Math.Min(size, start + _maxPieceChars); end++)
            {
                if (!lookup.TryGetValue(s.AsSpan(start, end - start), out int id) || _model.Types[id] == PieceType.Unused)
                {
                    continue;
                }
                // As in the C++ code, the score is a double (the ternary mixes the float score with a double
                // expression), the sum is compared in double and stored as float.
                double score = _model.Types[id] == PieceType.UserDefined
                    ? Encoding.UTF8.GetByteCount(s.AsSpan(start, end - start)) * _maxScore - 0.1
                    : _model.Scores[id];
                double candidate = score + tillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = (float)candidate;
                    startsAt[end] = start;
                    ids[end] = id;
                }
                hasSingle |= end - start == charLength;
            }
            if (!hasSingle)
            {
                int end = start + charLength;
                float candidate = unkScore + tillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = candidate;
                    startsAt[end] = start;
                    ids[end] = UnknownId;
                }
            }
            start += charLength;
        }
        var result = new List<(string, int)>();
        for (int end = size; end > 0; end = startsAt[end])
        {
            result.Add((s[startsAt[end]..end], ids[end]));
        }
        result.Reverse();
        return result;
    }

    private List<(string Piece, int Id)> EncodeBpe(string s)
    {
        // Symbols: user-defined pieces (frozen) or single characters, linked as a list.
        var starts = new List<int>();
        var lengths = new List<int>();
        var frozen = new List<bool>();
        for (int i = 0; i < s.Length;)
        {
            int n = _userDefined.Match(s.AsSpan(i));
            bool isUser = n > 0;
            if (!isUser)
            {
                n = char.IsHighSurrogate(s[i]) && i + 1 < s.Length ? 2 : 1;
            }
            starts.Add(i);
            lengths.Add(n);
            frozen.Add(isUser);
            i += n;
        }
        int count = starts.Count;
        if (count == 0)
        {
            return new();
        }
        var prev = Enumerable.Range(-1, count).ToArray();
        var next = Enumerable.Range(1, count).Select(i => i == count ? -1 : i).ToArray();
        var lookup = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        var agenda = new PriorityQueue<(int Left, int Right, int Size), (float, int)>(Comparer<(float Score, int Left)>.Create(
            (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        var revMerge = new Dictionary<string, (string, string)>(StringComparer.Ordinal);

        void MaybeAdd(int left, int right)
        {
            if (left == -1 || right == -1 || frozen[left] || frozen[right])
            {
                return;
            }
            int size = lengths[left] + lengths[right];
            var piece = s.AsSpan(starts[left], size);
            if (!lookup.TryGetValue(piece, out int id))
            {
                return;
            }
            agenda.Enqueue((left, right, size), (_model.Scores[id], left));
            if (_model.Types[id] == PieceType.Unused)
            {
                revMerge[piece.ToString()] = (s.Substring(starts[left], lengths[left]), s.Substring(starts[right], lengths[right]));
            }
        }

        for (int i = 1; i < count; i++)
        {
            MaybeAdd(i - 1, i);
        }
        while (agenda.TryDequeue(out var top, out _))
        {
            if (lengths[top.Left] == 0 || lengths[top.Right] == 0 || lengths[top.Left] + lengths[top.Right] != top.Size)
            {
                continue;
            }
            lengths[top.Left] = top.Size;
            next[top.Left] = next[top.Right];
            if (next[top.Right] >= 0)
            {
                prev[next[top.Right]] = top.Left;
            }
            lengths[top.Right] = 0;
            MaybeAdd(prev[top.Left], top.Left);
            MaybeAdd(top.Left, next[top.Left]);
        }
        var output = new List<(string, int)>();
        for (int i = 0; i != -1; i = next[i])
        {
            Resegment(s.Substring(starts[i], lengths[i]), output, revMerge);
        }
        return output;
    }

    private void Resegment(string piece, List<(string, int)> output, Dictionary<string, (string, string)> revMerge)
    {
        int id = PieceToId(piece);
        if (_model.Types[id] != PieceType.Unused || !revMerge.TryGetValue(piece, out var parts))
        {
            output.Add((piece, id));
            return;
        }
        Resegment(parts.Item1, output, revMerge);
        Resegment(parts.Item2, output, revMerge);
    }

    private int PieceToId(string piece) =>
        _reserved.TryGetValue(piece, out int id) || _pieces.TryGetValue(piece, out id) ? id : UnknownId;

    /// <summary>Byte fallback for unknown pieces, or one id for each run of unknown pieces.</summary>
    private List<int> Finish(List<(string Piece, int Id)> pieces)
    {
        var ids = new List<int>(pieces.Count);
        bool prevUnknown = false;
        foreach (var (piece, id) in pieces)
        {
            bool unknown = _model.Types[id] == PieceType.Unknown;
            if (unknown && _model.ByteFallback)
            {
                foreach (byte b in Encoding.UTF8.GetBytes(piece))
                {
                    ids.Add(PieceToId($"<0x{b:X2}>"));
                }
            }
            else if (!(unknown && prevUnknown))
            {
                ids.Add(id);
            }
            prevUnknown = unknown;
        }
        return ids;
    }
}
