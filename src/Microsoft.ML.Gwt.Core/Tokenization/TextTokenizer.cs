using System.Text;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>Token ids of one example (one sentence or a sentence pair) with their segment (token type) ids.</summary>
/// <param name="Ids">Token ids, special tokens included.</param>
/// <param name="TypeIds">Segment ids: 0 for the first sentence, 1 for the second (BERT); all 0 for RoBERTa.</param>
public readonly record struct EncodedText(int[] Ids, int[] TypeIds);

/// <summary>
/// Turns text into the token ids a transformer encoder (<c>Microsoft.ML.Gwt.Modeling.TransformerEncoder</c>) expects, with the model family's special
/// tokens, truncation and sentence-pair layout. Implementations persist themselves for ML.NET model files.
/// </summary>
public abstract partial class TextTokenizer
{
    /// <summary>Text longer than this many characters per allowed token is cut before tokenizing (a 1 MB text costs
    /// no more than a short one); no token of a real vocabulary is that long.</summary>
    public const int MaxCharsPerToken = 32;

    /// <summary>The number of ids the tokenizer can produce (ids are in [0, VocabSize)).</summary>
    public abstract int VocabSize { get; }

    /// <summary>The padding id.</summary>
    public abstract int PadId { get; }

    /// <summary>A short name of the kind, stored in model files.</summary>
    public abstract string Kind { get; }

    /// <summary>Ids of <paramref name="text"/> without special tokens.</summary>
    protected abstract IReadOnlyList<int> EncodePlain(string text);

    /// <summary>The vocabulary, token to id (special tokens included), for masked-language-model pre-training; null
    /// when the tokenizer has none that names its tokens (the fitted cl100k tokenizer).</summary>
    public virtual IReadOnlyDictionary<string, int>? Vocabulary => null;

    /// <summary>Ids of the tokenizer's special tokens (padding, classification, separator, mask, unknown, ...).</summary>
    public virtual IEnumerable<int> SpecialTokenIds => new[] { PadId };

    /// <summary>Ids of <paramref name="text"/> without special tokens and without truncation (pre-training packs
    /// them into sequences itself); text beyond <paramref name="maxChars"/> characters is cut first.</summary>
    public IReadOnlyList<int> EncodeWithoutSpecialTokens(string? text, int maxChars) =>
        string.IsNullOrEmpty(text) ? Array.Empty<int>() : EncodePlain(text.Length > maxChars ? text[..maxChars] : text);

    /// <summary>Wraps one or two id sequences with the family's special tokens.</summary>
    protected abstract EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second);

    /// <summary>BERT's layout: <c>cls a sep</c> or <c>cls a sep b sep</c>, segment ids 0 for the first part and 1 for
    /// the second.</summary>
    protected static EncodedText AssembleClsSep(int cls, int sep, IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int>(first.Count + (second?.Count ?? 0) + 3) { cls };
        ids.AddRange(first);
        ids.Add(sep);
        int firstLength = ids.Count;
        if (second is not null)
        {
            ids.AddRange(second);
            ids.Add(sep);
        }
        var types = new int[ids.Count];
        Array.Fill(types, 1, firstLength, ids.Count - firstLength);
        return new EncodedText(ids.ToArray(), types);
    }

    /// <summary>RoBERTa's layout: <c>cls a sep</c> or <c>cls a sep sep b sep</c>, segment ids all 0.</summary>
    protected static EncodedText AssembleRoberta(int cls, int sep, IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int>(first.Count + (second?.Count ?? 0) + 4) { cls };
        ids.AddRange(first);
        ids.Add(sep);
        if (second is not null)
        {
            ids.Add(sep);
            ids.AddRange(second);
            ids.Add(sep);
        }
        return new EncodedText(ids.ToArray(), new int[ids.Count]);
    }

    /// <summary>How many special tokens <see cref="Assemble"/> adds for one sentence or a pair.</summary>
    protected abstract int SpecialTokenCount(bool pair);

    /// <summary>Encodes one example; null or empty text is empty text. The result has at most
    /// <paramref name="maxTokens"/> ids: the longer sentence of a pair is truncated first.</summary>
    public EncodedText Encode(string? first, string? second, int maxTokens)
    {
        int budget = maxTokens - SpecialTokenCount(second is not null);
        if (budget < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, $"At least {SpecialTokenCount(second is not null) + 1} tokens are needed.");
        }
        var a = EncodePlain(Cut(first, budget)).ToList();
        List<int>? b = second is null ? null : EncodePlain(Cut(second, budget)).ToList();
        var (keepA, keepB) = LongestFirst(a.Count, b?.Count ?? 0, budget, b is not null);
        a.RemoveRange(keepA, a.Count - keepA);
        b?.RemoveRange(keepB, b.Count - keepB);
        return Assemble(a, b);
    }

    /// <summary>How many ids of each sentence survive truncation to <paramref name="budget"/>, as Hugging Face
    /// tokenizers' longest_first does it: the shorter sentence is kept whole when the longer can take the rest;
    /// otherwise each gets half, the longer one the odd id.</summary>
    internal static (int First, int Second) LongestFirst(int n1, int n2, int budget, bool pair)
    {
        if (!pair)
        {
            return (Math.Min(n1, budget), 0);
        }
        if (n1 + n2 <= budget)
        {
            return (n1, n2);
        }
        bool swap = n1 > n2;
        var (shorter, longer) = swap ? (n2, n1) : (n1, n2);
        longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if (shorter + longer > budget)
        {
            shorter = budget / 2;
            longer = shorter + budget % 2;
        }
        return swap ? (longer, shorter) : (shorter, longer);
    }

    /// <summary>Writes what is needed to rebuild this tokenizer with <see cref="Load"/>.</summary>
    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Kind);
        SavePayload(writer);
    }

    /// <summary>Writes the tokenizer's own data.</summary>
    protected abstract void SavePayload(BinaryWriter writer);

    /// <summary>Rebuilds a tokenizer written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The data names an unknown kind.</exception>
    public static TextTokenizer Load(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string kind = reader.ReadString();
        return kind switch
        {
            WordPieceTextTokenizer.KindName => WordPieceTextTokenizer.LoadPayload(reader),
            RobertaBpeTextTokenizer.KindName => RobertaBpeTextTokenizer.LoadPayload(reader),
            FittedTiktokenTokenizer.KindName => FittedTiktokenTokenizer.LoadPayload(reader),
            SentencePieceTextTokenizer.KindName => SentencePieceTextTokenizer.LoadPayload(reader),
            TokenizerJsonTextTokenizer.KindName => TokenizerJsonTextTokenizer.LoadPayload(reader),
            _ => throw new InvalidDataException($"Unknown tokenizer kind '{kind}'."),
        };
    }

    /// <summary>Loads the tokenizer of a Hugging Face checkpoint folder, choosing the file by
    /// <see cref="PretrainedTokenizerFiles"/>'s order and the family by config.json's <c>model_type</c>.</summary>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer file.</exception>
    /// <exception cref="NotSupportedException">The tokenizer file is of a kind that is not supported (the message says which).</exception>
    /// <exception cref="FormatException">A tokenizer file is malformed, or the tokenizer has more ids than the config's vocab_size.</exception>
    public static TextTokenizer FromPretrained(string folder, Modeling.TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var tokenizer = PretrainedTokenizerFiles.Load(folder, config.ModelType, config.PadTokenId);
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new FormatException($"'{folder}': the tokenizer has {tokenizer.VocabSize} ids but config.json's vocab_size is {config.VocabSize}.");
        }
        return tokenizer;
    }

    private static string Cut(string? text, int budget)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }
        long limit = (long)budget * MaxCharsPerToken;
        return text.Length > limit ? text[..(int)limit] : text;
    }

    internal static void WriteText(BinaryWriter w, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    internal static string ReadText(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 256 << 20)
        {
            throw new InvalidDataException($"Tokenizer data claims {n} bytes.");
        }
        var bytes = r.ReadBytes(n);
        if (bytes.Length != n)
        {
            throw new EndOfStreamException("Tokenizer data is truncated.");
        }
        return Encoding.UTF8.GetString(bytes);
    }
}
