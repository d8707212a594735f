using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>
/// Picks the tokenizer of a Hugging Face checkpoint folder. Files are tried in this order, the first present wins:
/// <list type="number">
/// <item><c>tokenizer.json</c>: Hugging Face's fast-tokenizer file (see <see cref="TokenizerJsonTextTokenizer"/>);</item>
/// <item><c>sentencepiece.bpe.model</c>: XLM-RoBERTa layout, or CamemBERT's when <c>model_type</c> is <c>camembert</c>;</item>
/// <item><c>spm.model</c>: DeBERTa-v2/v3 layout (<c>[CLS]</c>/<c>[SEP]</c>/<c>[PAD]</c> pieces);</item>
/// <item><c>vocab.json</c> + <c>merges.txt</c>: byte-level BPE (RoBERTa);</item>
/// <item><c>vocab.txt</c>: WordPiece (BERT, DistilBERT, ELECTRA).</item>
/// </list>
/// <c>tokenizer_config.json</c>'s <c>do_lower_case</c> is honoured where the family has it.
/// </summary>
public static class PretrainedTokenizerFiles
{
    /// <summary>The tokenizer file names this loader reads, in the order they are tried.</summary>
    public static IReadOnlyList<string> SupportedFiles { get; } = new[]
    {
        "tokenizer.json", "sentencepiece.bpe.model", "spm.model", "vocab.json + merges.txt", "vocab.txt",
    };

    /// <summary>Loads the tokenizer of <paramref name="folder"/> for a model of type <paramref name="modelType"/>
    /// (config.json's <c>model_type</c>); <paramref name="padTokenId"/> (config.json's <c>pad_token_id</c>) is the
    /// padding id when a tokenizer.json names none.</summary>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer file at all.</exception>
    /// <exception cref="NotSupportedException">The folder's tokenizer file is of a kind that is not supported, or a
    /// tokenizer.json uses a component that is not supported; the message names the file and the kind.</exception>
    public static TextTokenizer Load(string folder, string modelType, int padTokenId = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        modelType ??= "";
        string File(string name) => Path.Combine(folder, name);
        if (System.IO.File.Exists(File("tokenizer.json")))
        {
            return new TokenizerJsonTextTokenizer(System.IO.File.ReadAllText(File("tokenizer.json")), File("tokenizer.json"), padTokenId);
        }
        if (System.IO.File.Exists(File("sentencepiece.bpe.model")))
        {
            var layout = modelType.Equals("camembert", StringComparison.OrdinalIgnoreCase) ? SentencePieceLayout.Camembert : SentencePieceLayout.XlmRoberta;
            return SentencePiece(File("sentencepiece.bpe.model"), layout, ReadLowerCase(folder, false));
        }
        if (System.IO.File.Exists(File("spm.model")))
        {
            return SentencePiece(File("spm.model"), SentencePieceLayout.ClsSep, ReadLowerCase(folder, false));
        }
        if (System.IO.File.Exists(File("vocab.json")) && System.IO.File.Exists(File("merges.txt")))
        {
            return new RobertaBpeTextTokenizer(System.IO.File.ReadAllText(File("vocab.json")), System.IO.File.ReadAllText(File("merges.txt")));
        }
        if (System.IO.File.Exists(File("vocab.txt")))
        {
            return new WordPieceTextTokenizer(System.IO.File.ReadAllText(File("vocab.txt")), ReadLowerCase(folder, true));
        }
        foreach (var (name, what) in Unsupported)
        {
            if (System.IO.File.Exists(File(name)))
            {
                throw new NotSupportedException(
                    $"The checkpoint folder '{folder}' has {name} ({what}), which is not supported; supported tokenizer files: {string.Join(", ", SupportedFiles)}.");
            }
        }
        throw new FileNotFoundException(
            $"The checkpoint folder '{folder}' has no tokenizer: expected one of {string.Join(", ", SupportedFiles)}.", File("vocab.txt"));
    }

    /// <summary>Tokenizer files of other kinds, recognized so that the error says what they are.</summary>
    private static readonly (string Name, string What)[] Unsupported =
    {
        ("spiece.model", "a SentencePiece model in the ALBERT/T5/XLNet layout, whose text preprocessing is not implemented"),
        ("tokenizer.model", "a SentencePiece model of a LLaMA-style decoder"),
        ("sentencepiece.model", "a SentencePiece model of an unknown family"),
        ("source.spm", "a Marian translation SentencePiece model"),
        ("bpe.codes", "an XLM/FlauBERT BPE codes file"),
        ("vocab.json", "a vocab.json without the merges.txt byte-level BPE needs"),
        ("merges.txt", "a merges.txt without its vocab.json"),
        ("vocab.bpe", "a GPT-2 style vocab.bpe without encoder.json support"),
    };

    private static SentencePieceTextTokenizer SentencePiece(string path, SentencePieceLayout layout, bool lowerCase) =>
        new(System.IO.File.ReadAllBytes(path), layout, lowerCase, path);

    /// <summary><c>do_lower_case</c> from <c>tokenizer_config.json</c>, or <paramref name="fallback"/> when the file
    /// or the key is absent.</summary>
    internal static bool ReadLowerCase(string folder, bool fallback)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        if (!System.IO.File.Exists(path))
        {
            return fallback;
        }
        try
        {
            using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("do_lower_case", out var v)
                ? v.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw new FormatException($"'{path}': do_lower_case must be true or false, not {v.ValueKind}."),
                }
                : fallback;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"'{path}' is not valid JSON: {ex.Message}", ex);
        }
    }
}
