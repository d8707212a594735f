using Microsoft.ML.Gwt.Modeling;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>One masked sequence: the model's input and the labels (-100 where the loss ignores the position).</summary>
internal readonly record struct MaskedSequence(int[] InputIds, long[] Labels);

/// <summary>
/// BERT's masking: in each sequence, <c>max(1, round(probability × candidates))</c> of the candidate tokens (all but
/// special tokens and padding) are chosen, as Google's <c>create_pretraining_data.py</c> does; each chosen token becomes
/// the mask token with probability 0.8, a random ordinary token with probability 0.1 and stays unchanged otherwise, and
/// its label is the original id. With whole-word masking the candidates are words (a token and the continuation pieces
/// after it), drawn in random order and taken whole while they fit the count, as Hugging Face's
/// <c>DataCollatorForWholeWordMask</c> does. Hugging Face's <c>DataCollatorForLanguageModeling</c> draws each token
/// independently with the probability instead, so its count varies around the same mean; it also draws random
/// replacements from the whole vocabulary, special tokens included, where this draws ordinary tokens only.
/// </summary>
internal sealed class MlmMasker
{
    /// <summary>Hugging Face's ignore index for the loss.</summary>
    public const long Ignore = HeldScalars.IgnoredLabel;

    private readonly MlmTokens _tokens;
    private readonly double _probability;
    private readonly bool _wholeWord;

    public MlmMasker(MlmTokens tokens, double probability, bool wholeWord)
    {
        _tokens = tokens;
        _probability = probability;
        _wholeWord = wholeWord;
    }

    /// <summary>Masks <paramref name="sequence"/> with draws from <paramref name="random"/>.</summary>
    public MaskedSequence Mask(int[] sequence, Random random)
    {
        var groups = Candidates(sequence);
        int candidates = groups.Sum(g => g.Count);
        var input = (int[])sequence.Clone();
        var labels = new long[sequence.Length];
        Array.Fill(labels, Ignore);
        if (candidates == 0)
        {
            return new MaskedSequence(input, labels);
        }
        int target = Math.Max(1, (int)Math.Round(_probability * candidates, MidpointRounding.AwayFromZero));
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(groups));
        int chosen = 0;
        foreach (var group in groups)
        {
            if (chosen >= target)
            {
                break;
            }
            if (chosen + group.Count > target)
            {
                continue;
            }
            foreach (int position in group)
            {
                labels[position] = sequence[position];
                input[position] = Replacement(sequence[position], random);
            }
            chosen += group.Count;
        }
        return new MaskedSequence(input, labels);
    }

    private int Replacement(int original, Random random)
    {
        double draw = random.NextDouble();
        if (draw < 0.8)
        {
            return _tokens.MaskId;
        }
        if (draw < 0.9 && _tokens.OrdinaryIds.Length > 0)
        {
            return _tokens.OrdinaryIds[random.Next(_tokens.OrdinaryIds.Length)];
        }
        return original;
    }

    /// <summary>The maskable positions, one group per token, or per word with whole-word masking.</summary>
    private List<List<int>> Candidates(int[] sequence)
    {
        var groups = new List<List<int>>();
        bool previousMaskable = false;
        for (int i = 0; i < sequence.Length; i++)
        {
            int id = sequence[i];
            if (_tokens.IsSpecial(id))
            {
                previousMaskable = false;
                continue;
            }
            if (_wholeWord && previousMaskable && _tokens.ContinuesWord(id))
            {
                groups[^1].Add(i);
            }
            else
            {
                groups.Add(new List<int> { i });
            }
            previousMaskable = true;
        }
        return groups;
    }
}
