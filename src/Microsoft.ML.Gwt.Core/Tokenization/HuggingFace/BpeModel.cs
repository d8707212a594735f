using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>tokenizers' BPE model: characters (with continuation prefix / end-of-word suffix) become symbols, unknown
/// characters fall back to bytes or the (optionally fused) unknown token, then merges are applied lowest rank first,
/// leftmost first among equal ranks.</summary>
internal sealed class BpeModel : TokenModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(int, int), (int Rank, int NewId)> _merges = new();
    private readonly int? _unk;
    private readonly string? _prefix, _suffix;
    private readonly bool _fuseUnk, _byteFallback, _ignoreMerges;

    private BpeModel(Dictionary<string, int> vocab, List<(string A, string B)> merges, string? unk, string? prefix, string? suffix,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
        _suffix = string.IsNullOrEmpty(suffix) ? null : suffix;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        if (unk is not null)
        {
            _unk = vocab.TryGetValue(unk, out int u) ? u : throw new FormatException($"'{source}': the BPE unk_token '{unk}' is not in the vocabulary.");
        }
        int prefixLength = _prefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out int ia) || !vocab.TryGetValue(b, out int ib))
            {
                throw new FormatException($"'{source}': merge {rank} '{a} {b}' uses a token that is not in the vocabulary.");
            }
            string merged = a + (prefixLength > 0 && b.StartsWith(_prefix!, StringComparison.Ordinal) ? b[prefixLength..] : b);
            if (!vocab.TryGetValue(merged, out int id))
            {
                throw new FormatException($"'{source}': merge {rank} '{a} {b}' makes '{merged}', which is not in the vocabulary.");
            }
            _merges.TryAdd((ia, ib), (rank, id));
        }
    }

    public static BpeModel Read(JsonElement e, string source)
    {
        var vocab = ReadVocab(e, source);
        var merges = new List<(string, string)>();
        foreach (var m in Json.Array(e, "merges", source))
        {
            if (m.ValueKind == JsonValueKind.String)
            {
                var s = m.GetString()!;
                int space = s.IndexOf(' ', 1);
                if (space < 0)
                {
                    throw new FormatException($"'{source}': merge '{s}' is not two tokens separated by a space.");
                }
                merges.Add((s[..space], s[(space + 1)..]));
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                merges.Add((m[0].GetString()!, m[1].GetString()!));
            }
            else
            {
                throw new FormatException($"'{source}': a merge must be \"a b\" or [\"a\", \"b\"].");
            }
        }
        return new BpeModel(vocab, merges, Json.OptionalString(e, "unk_token"), Json.OptionalString(e, "continuing_subword_prefix"),
            Json.OptionalString(e, "end_of_word_suffix"), Json.Bool(e, "fuse_unk", false), Json.Bool(e, "byte_fallback", false),
            Json.Bool(e, "ignore_merges", false), source);
    }

    /// <summary>The model of a <c>vocab.json</c> + <c>merges.txt</c> pair (merges one per line, "#version" skipped).</summary>
    public static BpeModel FromFiles(Dictionary<string, int> vocab, string mergesText, string? unk, string source)
    {
        var merges = new List<(string, string)>();
        foreach (var raw in mergesText.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
            {
                continue;
            }
            int space = line.IndexOf(' ', 1);
            if (space < 0)
            {
                throw new FormatException($"'{source}': merges line '{line}' is not two tokens separated by a space.");
            }
            merges.Add((line[..space], line[(space + 1)..]));
        }
        return new BpeModel(vocab, merges, unk, null, null, false, false, false, source);
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public override void Encode(string piece, List<int> ids)
    {
        if (_ignoreMerges && _vocab.TryGetValue(piece, out int whole))
        {
            ids.Add(whole);
            return;
        }
        var symbols = InitialSymbols(piece);
        MergeAll(symbols);
        foreach (var s in symbols)
        {
            if (s.Length > 0)
            {
                ids.Add(s.Id);
            }
        }
    }

    private sealed class Symbol
    {
        public int Id, Prev, Next, Length;
    }

    private List<Symbol> InitialSymbols(string word)
    {
        var symbols = new List<Symbol>();
        void Add(int id, int length) => symbols.Add(new Symbol { Id = id, Length = length });
        (int Id, int Length)? unk = null;
        int i = 0;
        while (i < word.Length)
        {
            int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length ? 2 : 1;
            string s = word.Substring(i, width);
            int byteLength = Encoding.UTF8.GetByteCount(s);
            if (i > 0 && _prefix is not null) s = _prefix + s;
            if (i + width == word.Length && _suffix is not null) s += _suffix;
            i += width;
            if (_vocab.TryGetValue(s, out int id))
            {
                if (unk is { } u)
                {
                    Add(u.Id, u.Length);
                    unk = null;
                }
                Add(id, byteLength);
                continue;
            }
            if (_byteFallback)
            {
                var bytes = Encoding.UTF8.GetBytes(s);
                var byteIds = bytes.Select(b => _vocab.TryGetValue($"<0x{b:X2}>", out int bid) ? bid : -1).ToArray();
                if (byteIds.All(b => b >= 0))
                {
                    foreach (int b in byteIds)
                    {
                        Add(b, 1);
                    }
                    continue;
                }
            }
            if (_unk is int unkId)
            {
                if (unk is { } u && _fuseUnk)
                {
                    unk = (u.Id, u.Length + byteLength);
                }
                else
                {
                    if (unk is { } pending)
                    {
                        Add(pending.Id, pending.Length);
                    }
                    unk = (unkId, byteLength);
                }
            }
        }
        if (unk is { } last)
        {
            Add(last.Id, last.Length);
        }
        for (int k = 0; k < symbols.Count; k++)
        {
            symbols[k].Prev = k - 1;
            symbols[k].Next = k + 1 < symbols.Count ? k + 1 : -1;
        }
        return symbols;
    }

    private void MergeAll(List<Symbol> symbols)
    {
        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        for (int k = 0; k + 1 < symbols.Count; k++)
        {
            if (_merges.TryGetValue((symbols[k].Id, symbols[k + 1].Id), out var m))
            {
                queue.Enqueue((k, m.NewId), (m.Rank, k));
            }
        }
        while (queue.TryDequeue(out var top, out _))
        {
            var current = symbols[top.Pos];
            if (current.Length == 0 || current.Next == -1)
            {
                continue;
            }
            var right = symbols[current.Next];
            if (!_merges.TryGetValue((current.Id, right.Id), out var target) || target.NewId != top.NewId)
            {
                continue;
            }
            current.Id = top.NewId;
            current.Length += right.Length;
            current.Next = right.Next;
            right.Length = 0;
            if (right.Next >= 0)
            {
                symbols[right.Next].Prev = top.Pos;
            }
            if (current.Prev >= 0 && _merges.TryGetValue((symbols[current.Prev].Id, current.Id), out var before))
            {
                queue.Enqueue((current.Prev, before.NewId), (before.Rank, current.Prev));
            }
            if (current.Next >= 0 && _merges.TryGetValue((current.Id, symbols[current.Next].Id), out var after))
            {
                queue.Enqueue((top.Pos, after.NewId), (after.Rank, top.Pos));
            }
        }
    }
}
