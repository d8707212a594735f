using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>A tokenizer.json model: turns one pre-tokenized piece into ids.</summary>
internal abstract class TokenModel
{
    /// <summary>Appends the ids of <paramref name="piece"/> to <paramref name="ids"/>.</summary>
    public abstract void Encode(string piece, List<int> ids);

    /// <summary>The vocabulary: token to id.</summary>
    public abstract IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>Builds the model described by a tokenizer.json <c>model</c> object.</summary>
    /// <exception cref="NotSupportedException">The type is not WordPiece, BPE, Unigram or WordLevel.</exception>
    public static TokenModel Parse(JsonElement e, string source)
    {
        string type = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : InferType(e, source);
        return type switch
        {
            "WordPiece" => WordPieceModel.Read(e, source),
            "BPE" => BpeModel.Read(e, source),
            "Unigram" => UnigramModel.Read(e, source),
            "WordLevel" => WordLevelModel.Read(e, source),
            _ => throw new NotSupportedException(
                $"'{source}' uses the model '{type}', which is not supported (supported: WordPiece, BPE, Unigram, WordLevel)."),
        };
    }

    /// <summary>Old files may omit the model type; tokenizers infers it from the fields.</summary>
    private static string InferType(JsonElement e, string source)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"'{source}' has no \"model\" object.");
        }
        if (e.TryGetProperty("merges", out _)) return "BPE";
        if (e.TryGetProperty("continuing_subword_prefix", out _) || e.TryGetProperty("max_input_chars_per_word", out _)) return "WordPiece";
        if (e.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array) return "Unigram";
        if (e.TryGetProperty("vocab", out _)) return "WordLevel";
        throw new FormatException($"'{source}': the model has no \"type\" and no vocabulary.");
    }

    /// <summary>A <c>{"token": id}</c> vocabulary object.</summary>
    internal static Dictionary<string, int> ReadVocab(JsonElement e, string source)
    {
        if (!e.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"'{source}': the model's \"vocab\" must be an object of token ids.");
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new FormatException($"'{source}': vocab entry '{p.Name}' is not a non-negative integer id.");
            }
            vocab[p.Name] = id;
        }
        if (vocab.Count == 0)
        {
            throw new FormatException($"'{source}': the model's vocab is empty.");
        }
        return vocab;
    }
}

/// <summary>WordPiece: greedy longest-match-first with a continuation prefix; a word with an unmatched part, or longer
/// than max_input_chars_per_word characters, is the unknown token.</summary>
internal sealed class WordPieceModel(Dictionary<string, int> vocab, int unk, string prefix, int maxChars) : TokenModel
{
    public static WordPieceModel Read(JsonElement e, string source)
    {
        var vocab = ReadVocab(e, source);
        string unkToken = Json.OptionalString(e, "unk_token") ?? "[UNK]";
        if (!vocab.TryGetValue(unkToken, out int unk))
        {
            throw new FormatException($"'{source}': the WordPiece unk_token '{unkToken}' is not in the vocabulary.");
        }
        int maxChars = e.TryGetProperty("max_input_chars_per_word", out var m) && m.TryGetInt32(out int mc) ? mc : 100;
        return new WordPieceModel(vocab, unk, Json.OptionalString(e, "continuing_subword_prefix") ?? "##", maxChars);
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => vocab;

    public override void Encode(string piece, List<int> ids)
    {
        int runeCount = piece.EnumerateRunes().Count();
        if (runeCount > maxChars)
        {
            ids.Add(unk);
            return;
        }
        var lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        var sub = new List<int>();
        // buffer[prefix.Length + k] = piece[k]: writing the prefix at buffer[start] (over characters already
        // consumed) makes buffer[start..] read prefix + piece[start..] without a string per attempt.
        var buffer = new char[prefix.Length + piece.Length];
        piece.CopyTo(0, buffer, prefix.Length, piece.Length);
        int start = 0;
        while (start < piece.Length)
        {
            int end = piece.Length;
            int found = -1;
            if (start > 0)
            {
                prefix.CopyTo(buffer.AsSpan(start));
            }
            while (start < end)
            {
                var candidate = start == 0 ? piece.AsSpan(0, end) : buffer.AsSpan(start, prefix.Length + end - start);
                if (lookup.TryGetValue(candidate, out int id))
                {
                    found = id;
                    break;
                }
                end--;
                if (end > start && char.IsLowSurrogate(piece[end]) && char.IsHighSurrogate(piece[end - 1]))
                {
                    end--;
                }
            }
            if (found < 0)
            {
                ids.Add(unk);
                return;
            }
            sub.Add(found);
            start = end;
        }
        ids.AddRange(sub);
    }
}

/// <summary>WordLevel: the whole piece is a token, or the unknown token.</summary>
internal sealed class WordLevelModel(Dictionary<string, int> vocab, int unk) : TokenModel
{
    public static WordLevelModel Read(JsonElement e, string source)
    {
        var vocab = ReadVocab(e, source);
        string unkToken = Json.OptionalString(e, "unk_token") ?? "<unk>";
        if (!vocab.TryGetValue(unkToken, out int unk))
        {
            throw new FormatException($"'{source}': the WordLevel unk_token '{unkToken}' is not in the vocabulary.");
        }
        return new WordLevelModel(vocab, unk);
    }

    public override IReadOnlyDictionary<string, int> Vocabulary => vocab;

    public override void Encode(string piece, List<int> ids) => ids.Add(vocab.TryGetValue(piece, out int id) ? id : unk);
}
