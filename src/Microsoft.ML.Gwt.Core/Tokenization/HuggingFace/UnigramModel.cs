using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>tokenizers' Unigram model: best-scoring segmentation (Viterbi, double scores), unknown characters scored
/// min_score - 10 and fused into one unknown token, optional byte fallback.</summary>
internal sealed class UnigramModel : TokenModel
{
    private const double UnkPenalty = 10.0;
    private readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    private readonly double[] _scores;
    private readonly int? _unk;
    private readonly bool _byteFallback;
    private readonly double _minScore;
    private readonly int _maxChars;

    private UnigramModel(List<(string Piece, double Score)> pieces, int? unk, bool byteFallback)
    {
        _scores = new double[pieces.Count];
        for (int i = 0; i < pieces.Count; i++)
        {
            _vocab.TryAdd(pieces[i].Piece, i);
            _scores[i] = pieces[i].Score;
        }
        _unk = unk;
        _byteFallback = byteFallback;
        _minScore = _scores.Min();
        _maxChars = pieces.Max(p => p.Piece.Length);
    }

    public static UnigramModel Read(JsonElement e, string source)
    {
        var pieces = new List<(string, double)>();
        foreach (var entry in Json.Array(e, "vocab", source))
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String ||
                entry[1].ValueKind != JsonValueKind.Number)
            {
                throw new FormatException($"'{source}': a Unigram vocab entry must be [piece, score].");
            }
            pieces.Add((entry[0].GetString()!, entry[1].GetDouble()));
        }
        if (pieces.Count == 0)
        {
            throw new FormatException($"'{source}': the Unigram vocab is empty.");
        }
        int? unk = e.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : null;
        if (unk is int id && (id < 0 || id >= pieces.Count))
        {
            throw new FormatException($"'{source}': the Unigram unk_id {id} is outside the vocabulary of {pieces.Count}.");
        }
        return new UnigramModel(pieces, unk, Json.Bool(e, "byte_fallback", false));
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public override void Encode(string piece, List<int> ids)
    {
        foreach (var token in Segment(piece))
        {
            if (_vocab.TryGetValue(token, out int id))
            {
                ids.Add(id);
                continue;
            }
            if (_byteFallback)
            {
                var byteIds = Encoding.UTF8.GetBytes(token).Select(b => _vocab.TryGetValue($"<0x{b:X2}>", out int bid) ? bid : -1).ToList();
                if (byteIds.All(b => b >= 0))
                {
                    ids.AddRange(byteIds);
                    continue;
                }
            }
            ids.Add(_unk ?? throw new InvalidOperationException("The Unigram model has no unk_id but met an unknown character."));
        }
    }

    private List<string> Segment(string s)
    {
        var lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = s.Length;
        var best = new double[size + 1];
        var startsAt = new int[size + 1];
        var ids = new int[size + 1];
        Array.Fill(startsAt, -1);
        double unkScore = _minScore - UnkPenalty;
        for (int start = 0; start < size;)
        {
            double tillHere = best[start];
            int charLength = char.IsHighSurrogate(s[start]) && start + 1 < size ? 2 : 1;
            bool hasSingle = false;
            for (int end = start + 1; end <= Math.Min(size, start + _maxChars); end++)
            {
                if (!lookup.TryGetValue(s.AsSpan(start, end - start), out int id))
                {
                    continue;
                }
                double candidate = _scores[id] + tillHere;
                if (startsAt[end] == -1 || candidate > best[end])
                {
                    best[end] = candidate;
                    startsAt[end] = start;
                    ids[end] = id;
                }
                hasSingle |= end - start == charLength;
            }
            if (!hasSingle)
            {
                int end = start + charLength;
                double candidate = unkScore + tillHere;
                if (startsAt[end] == -1 || candidate > best[end])
                {
                    best[end] = candidate;
                    startsAt[end] = start;
                    ids[end] = _unk ?? -1;
                }
            }
            start += charLength;
        }
        var results = new List<string>();
        var unknownRun = new List<string>();
        for (int end = size; end > 0; end = startsAt[end])
        {
            string token = s[startsAt[end]..end];
            if (_unk is int u && ids[end] == u)
            {
                unknownRun.Add(token);
                continue;
            }
            FlushUnknown(results, unknownRun);
            results.Add(token);
        }
        FlushUnknown(results, unknownRun);
        results.Reverse();
        return results;
    }

    private static void FlushUnknown(List<string> results, List<string> run)
    {
        if (run.Count > 0)
        {
            run.Reverse();
            results.Add(string.Concat(run));
            run.Clear();
        }
    }
}
