using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>
/// Packs consecutive texts into training sequences of at most <c>maxLength</c> tokens, so that no padding is computed
/// (RoBERTa's FULL-SENTENCES packing): each sequence is <c>[CLS] text₁ [SEP] text₂ [SEP] …</c>, a text that does not
/// fit is split and continues in the next sequence, and only the last sequence of the stream can be shorter. Texts are
/// tokenized one at a time as they are read; nothing but the sequence being filled is held.
/// </summary>
internal sealed class SequencePacker
{
    private readonly TextTokenizer _tokenizer;
    private readonly MlmTokens _tokens;
    private readonly int _maxLength;
    private readonly int _maxCharsPerText;

    public SequencePacker(TextTokenizer tokenizer, MlmTokens tokens, int maxLength, int maxCharsPerText = 1 << 20)
    {
        if (maxLength < 4)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A packed sequence needs at least 4 tokens.");
        }
        _tokenizer = tokenizer;
        _tokens = tokens;
        _maxLength = maxLength;
        _maxCharsPerText = maxCharsPerText;
    }

    /// <summary>The packed sequences of <paramref name="texts"/>, in order.</summary>
    public IEnumerable<int[]> Pack(IEnumerable<string?> texts)
    {
        var sequence = new List<int>(_maxLength) { _tokens.ClsId };
        foreach (var text in texts)
        {
            var ids = _tokenizer.EncodeWithoutSpecialTokens(text, _maxCharsPerText);
            int position = 0;
            while (position < ids.Count)
            {
                int take = Math.Min(_maxLength - sequence.Count - 1, ids.Count - position);
                for (int i = 0; i < take; i++)
                {
                    sequence.Add(ids[position + i]);
                }
                position += take;
                sequence.Add(_tokens.SepId);
                if (sequence.Count + 2 > _maxLength)
                {
                    // No room for another token and its [SEP].
                    yield return sequence.ToArray();
                    sequence.Clear();
                    sequence.Add(_tokens.ClsId);
                }
            }
        }
        if (sequence.Count > 1)
        {
            yield return sequence.ToArray();
        }
    }
}
