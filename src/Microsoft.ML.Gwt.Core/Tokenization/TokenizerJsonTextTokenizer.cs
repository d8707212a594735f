using System.Text.Json;
using Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>
/// A Hugging Face fast-tokenizer file (<c>tokenizer.json</c>, what <c>save_pretrained</c> writes): models WordPiece,
/// BPE (byte-level or not), Unigram and WordLevel; the BERT, Unicode (NFC/NFD/NFKC/NFKD), Lowercase, StripAccents,
/// Strip, Replace, Prepend, Nmt, Precompiled and ByteLevel normalizers; the BERT, Whitespace, WhitespaceSplit,
/// ByteLevel, Metaspace, Split, Punctuation and Digits pre-tokenizers; TemplateProcessing, BertProcessing,
/// RobertaProcessing post-processors; added and special tokens matched before the model. Any other component is a
/// <see cref="NotSupportedException"/> naming the file and the component.
/// </summary>
public sealed class TokenizerJsonTextTokenizer : TextTokenizer
{
    internal const string KindName = "tokenizer-json";
    private readonly string _json;
    private readonly int _padFallback;
    private readonly TokenizerPipeline _pipeline;

    /// <summary>Creates the tokenizer from the text of a <c>tokenizer.json</c>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">The file name used in error messages.</param>
    /// <param name="padIdFallback">The padding id when the file names none (no <c>padding.pad_id</c>, no
    /// <c>[PAD]</c>/<c>&lt;pad&gt;</c> token), e.g. config.json's <c>pad_token_id</c>.</param>
    /// <exception cref="FormatException">The text is not a valid tokenizer.json.</exception>
    /// <exception cref="NotSupportedException">A component is of an unsupported type.</exception>
    public TokenizerJsonTextTokenizer(string json, string source = "tokenizer.json", int padIdFallback = 0)
    {
        ArgumentNullException.ThrowIfNull(json);
        _json = json;
        _padFallback = padIdFallback;
        try
        {
            using var doc = JsonDocument.Parse(json);
            _pipeline = Parse(doc.RootElement, source);
            PadId = PadFrom(doc.RootElement) ?? _pipeline.IdOf("[PAD]") ?? _pipeline.IdOf("<pad>") ?? padIdFallback;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"'{source}' is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new FormatException($"'{source}' has a field of the wrong JSON kind: {ex.Message}", ex);
        }
        VocabSize = _pipeline.VocabSize;
    }

    private static TokenizerPipeline Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model))
        {
            throw new FormatException($"'{source}' has no \"model\": it is not a Hugging Face tokenizer.json.");
        }
        var added = root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(t => AddedToken.Parse(t, source)).ToList()
            : new List<AddedToken>();
        return new TokenizerPipeline(
            added,
            Normalizer.Parse(root.TryGetProperty("normalizer", out var n) ? n : default, source),
            PreTokenizer.Parse(root.TryGetProperty("pre_tokenizer", out var p) ? p : default, source),
            TokenModel.Parse(model, source),
            HuggingFace.PostProcessor.Parse(root.TryGetProperty("post_processor", out var pp) ? pp : default, source));
    }

    private static int? PadFrom(JsonElement root) =>
        root.TryGetProperty("padding", out var padding) && padding.ValueKind == JsonValueKind.Object &&
        padding.TryGetProperty("pad_id", out var id) && id.TryGetInt32(out int v) ? v : null;

    /// <inheritdoc />
    public override int VocabSize { get; }

    /// <inheritdoc />
    public override int PadId { get; }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, int>? Vocabulary
    {
        get
        {
            var all = new Dictionary<string, int>(_pipeline.Model.Vocabulary, StringComparer.Ordinal);
            foreach (var added in _pipeline.Added)
            {
                all[added.Content] = added.Id;
            }
            return all;
        }
    }

    /// <inheritdoc />
    public override IEnumerable<int> SpecialTokenIds => _pipeline.Added.Where(a => a.Special).Select(a => a.Id).Append(PadId);

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodePlain(string text) => _pipeline.Encode(text);

    /// <inheritdoc />
    protected override int SpecialTokenCount(bool pair) => _pipeline.Post.SpecialCount(pair);

    /// <inheritdoc />
    protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) => _pipeline.Post.Assemble(first, second);

    /// <inheritdoc />
    protected override void SavePayload(BinaryWriter writer)
    {
        writer.Write(_padFallback);
        WriteText(writer, _json);
    }

    internal static TokenizerJsonTextTokenizer LoadPayload(BinaryReader reader)
    {
        int pad = reader.ReadInt32();
        return new TokenizerJsonTextTokenizer(ReadText(reader), "saved tokenizer.json", pad);
    }
}
