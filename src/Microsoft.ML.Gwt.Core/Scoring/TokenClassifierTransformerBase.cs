using System.Runtime.CompilerServices;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// What the token classifiers share (the named-entity-recognition transformers: TorchSharp's
/// <c>GwtNamedEntityRecognitionTransformer</c> and, later, an ONNX Runtime one): the text column's words
/// (<see cref="WordAlignment.Words"/>) are encoded with <see cref="TextTokenizer.EncodeWords(IReadOnlyList{string}, int)"/>,
/// the network gives tag logits for every position, and each word gets the tag whose logit is largest at its first
/// sub-token; a word without a token (cut by truncation, or dropped by the tokenizer) gets
/// <see cref="TokenClassifierSettings.FallbackKey"/>. The output column is a vector of keys, one per word
/// (<see cref="TokenClassifierColumns"/>). Only Microsoft.ML.Gwt's own token classifiers derive from it.
/// </summary>
public abstract class TokenClassifierTransformerBase : TextScoringTransformerBase
{
    private readonly ConditionalWeakTable<int[], int[]> _firstTokens = new();

    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    protected TokenClassifierTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, TokenClassifierSettings settings)
        : base(env, name, tokenizer, new TextScoringInput((settings ?? throw new ArgumentNullException(nameof(settings))).Sentence,
            null, settings.MaxSequenceLength, settings.ScoringBatchSize))
    {
        Scoring = settings;
    }

    /// <summary>Text column, output column, tags, truncation, batch size and the fallback tag.</summary>
    protected internal TokenClassifierSettings Scoring { get; }

    /// <summary>The number of tags.</summary>
    protected sealed override int OutputWidth => Scoring.Tags.Count;

    /// <summary>The tag names (the label's key values as text), in key order.</summary>
    public IReadOnlyList<string> TagNames => Scoring.Tags.ToText();

    /// <summary>Each sentence's 1-based tag keys, one per whitespace-separated word, <c>ScoringBatchSize</c> rows per
    /// forward pass. A null text has no words.</summary>
    public uint[][] Predict(IReadOnlyList<string?> sentences) =>
        PredictOutputs(sentences, null).Select(r => r.Select(k => (uint)k).ToArray()).ToArray();

    /// <summary>Each sentence's tags as text (<see cref="TagNames"/>), one per whitespace-separated word.</summary>
    public string[][] PredictTags(IReadOnlyList<string?> sentences)
    {
        var names = TagNames;
        return Predict(sentences).Select(r => r.Select(k => names[(int)k - 1]).ToArray()).ToArray();
    }

    /// <summary>The column this model adds (the same description the trainer's <c>GetOutputSchema</c> uses).</summary>
    internal TokenClassifierColumns OutputColumns() => new(Scoring.OutputColumn, Scoring.Tags.Count, Scoring.Tags);

    private protected sealed override IScoreColumns Columns() => OutputColumns();

    private protected sealed override EncodedText[] EncodeRows(IReadOnlyList<(string? First, string? Second)> rows)
    {
        var result = new EncodedText[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var words = WordAlignment.Words(rows[r].First);
            var encoded = Tokenizer.EncodeWords(words, Input.MaxSequenceLength);
            // The ids array is the key of the row's word positions: an empty one gets its own instance (Array.Empty is shared).
            var text = encoded.Text.Ids.Length == 0 ? new EncodedText(new int[0], new int[0]) : encoded.Text;
            _firstTokens.AddOrUpdate(text.Ids, WordAlignment.FirstTokens(encoded.WordIndex, words.Length));
            result[r] = text;
        }
        return result;
    }

    private protected sealed override float[] Outputs(IReadOnlyList<EncodedText> encoded) => TokenLogits(encoded);

    private protected sealed override float[][] SplitOutputs(float[] flat, IReadOnlyList<EncodedText> encoded)
    {
        int tags = Scoring.Tags.Count;
        int width = encoded.Max(e => e.Ids.Length);
        var result = new float[encoded.Count][];
        for (int r = 0; r < encoded.Count; r++)
        {
            if (!_firstTokens.TryGetValue(encoded[r].Ids, out var first))
            {
                throw new InvalidOperationException("A row was scored without the word positions of its encoding.");
            }
            var keys = new float[first.Length];
            for (int w = 0; w < first.Length; w++)
            {
                keys[w] = first[w] < 0 ? Scoring.FallbackKey + 1 : ArgMax(flat.AsSpan((r * width + first[w]) * tags, tags)) + 1;
            }
            result[r] = keys;
        }
        return result;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>The tag logits of one batch of encoded rows (at least one), <c>[rows, longest row, tags]</c> flattened
    /// row after row (rows padded to the longest): one forward pass. Thread-safe.</summary>
    protected abstract float[] TokenLogits(IReadOnlyList<EncodedText> encoded);

    /// <summary>The entry's settings: <see cref="Scoring"/>, then what the model adds.</summary>
    protected override void WriteSettings(BinaryWriter w) => Scoring.Write(w);
}
