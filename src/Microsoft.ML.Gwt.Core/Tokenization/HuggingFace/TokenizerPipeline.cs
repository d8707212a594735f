namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>Hugging Face tokenizers' encoding pipeline: added tokens split off the raw text (non-normalized ones) and
/// the normalized text (normalized ones), then normalizer, pre-tokenizer and model on the rest; the post-processor
/// adds the special tokens.</summary>
internal sealed class TokenizerPipeline
{
    private readonly AddedTokenMatcher _raw, _normalizedTokens;

    public TokenizerPipeline(IReadOnlyList<AddedToken> added, Normalizer? normalizer, PreTokenizer? preTokenizer, TokenModel model, PostProcessor post)
    {
        Added = added;
        Normalizer = normalizer;
        PreTokenizer = preTokenizer;
        Model = model;
        Post = post;
        _raw = new AddedTokenMatcher(added.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        _normalizedTokens = new AddedTokenMatcher(added.Where(t => t.Normalized).Select(t => (normalizer?.Normalize(t.Content) ?? t.Content, t)));
    }

    public IReadOnlyList<AddedToken> Added { get; }

    public Normalizer? Normalizer { get; }

    public PreTokenizer? PreTokenizer { get; }

    public TokenModel Model { get; }

    public PostProcessor Post { get; }

    /// <summary>The largest id the pipeline can produce, plus one.</summary>
    public int VocabSize => Math.Max(Model.Vocabulary.Values.DefaultIfEmpty(-1).Max(), Added.Select(a => a.Id).DefaultIfEmpty(-1).Max()) + 1;

    /// <summary>The id of a token (added tokens first, then the model's vocabulary), or null.</summary>
    public int? IdOf(string token) =>
        Added.FirstOrDefault(a => a.Content == token)?.Id ?? (Model.Vocabulary.TryGetValue(token, out int id) ? id : null);

    /// <summary>The ids of <paramref name="text"/> without special tokens from the post-processor.</summary>
    public List<int> Encode(string text)
    {
        text = Runes.Sanitize(text);
        var ids = new List<int>();
        bool atStart = true;
        foreach (var (segment, id) in _raw.Split(text))
        {
            if (id is int rawId)
            {
                ids.Add(rawId);
                atStart = false;
                continue;
            }
            var normalized = Normalizer?.Normalize(segment) ?? segment;
            foreach (var (part, normalizedId) in _normalizedTokens.Split(normalized))
            {
                if (normalizedId is int nid)
                {
                    ids.Add(nid);
                }
                else if (part.Length > 0)
                {
                    var pieces = PreTokenizer?.Split(new List<string> { part }, atStart) ?? new List<string> { part };
                    foreach (var piece in pieces)
                    {
                        Model.Encode(piece, ids);
                    }
                }
                atStart = false;
            }
        }
        return ids;
    }
}
