namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>A predicted answer: its text, its character offset in the context, and its probability among the n-best
/// candidates.</summary>
public readonly record struct PredictedAnswer(string Text, int Start, float Score);

/// <summary>
/// The answers of a context from its windows' start and end logits, as Hugging Face's <c>postprocess_qa_predictions</c>
/// (examples/pytorch/question-answering/utils_qa.py) picks them: in each window the <c>nBest</c> highest start and end
/// positions are paired; a pair counts when both positions are context tokens, the end is not before the start, and the
/// span has at most <c>maxAnswerTokens</c> tokens; its score is the sum of the two logits. Candidates of all windows are
/// sorted by score, mapped to the characters from the first word's start to the last word's end (a span that begins or
/// ends inside a word takes the whole word), the same character span kept once (the best: overlapping windows give it
/// twice), the best <c>nBest</c> given probabilities by a softmax over their scores (as utils_qa.py), and the top
/// <c>topK</c> returned. No candidate: no answer.
/// </summary>
public static class AnswerSpans
{
    /// <summary>Hugging Face's <c>n_best_size</c> default.</summary>
    public const int DefaultNBest = 20;

    /// <summary>The best answers, at most <paramref name="topK"/>.</summary>
    /// <param name="context">The context's words.</param>
    /// <param name="windows">Each window's positions' context words (-1: not context) and its start and end logits
    /// (at least as many as word indices; padding beyond is ignored).</param>
    /// <param name="topK">Answers returned.</param>
    /// <param name="maxAnswerTokens">The longest span, in tokens.</param>
    /// <param name="nBest">Positions tried per window, and candidates the softmax spans.</param>
    public static PredictedAnswer[] Decode(ContextWords context, IReadOnlyList<(int[] WordIndex, float[] Start, float[] End)> windows,
        int topK, int maxAnswerTokens, int nBest = DefaultNBest)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(windows);
        var candidates = new List<(float Score, int FirstWord, int LastWord)>();
        foreach (var (wordIndex, startLogits, endLogits) in windows)
        {
            int n = wordIndex.Length;
            var starts = Top(startLogits, n, nBest);
            var ends = Top(endLogits, n, nBest);
            foreach (int s in starts)
            {
                foreach (int e in ends)
                {
                    if (wordIndex[s] < 0 || wordIndex[e] < 0 || e < s || e - s + 1 > maxAnswerTokens)
                    {
                        continue;
                    }
                    candidates.Add((startLogits[s] + endLogits[e], wordIndex[s], wordIndex[e]));
                }
            }
        }
        var kept = new List<(float Score, int Start, int Length)>();
        var seen = new HashSet<(int, int)>();
        foreach (var c in candidates.OrderByDescending(c => c.Score))
        {
            var span = context.CharSpan(c.FirstWord, c.LastWord);
            if (seen.Add(span))
            {
                kept.Add((c.Score, span.Start, span.Length));
                if (kept.Count == nBest)
                {
                    break;
                }
            }
        }
        if (kept.Count == 0)
        {
            return Array.Empty<PredictedAnswer>();
        }
        double max = kept[0].Score;
        var exp = kept.Select(k => Math.Exp(k.Score - max)).ToArray();
        double sum = exp.Sum();
        return kept.Take(topK).Select((k, i) => new PredictedAnswer(context.Text.Substring(k.Start, k.Length), k.Start, (float)(exp[i] / sum))).ToArray();
    }

    /// <summary>The positions of the <paramref name="count"/> largest of the first <paramref name="n"/> values, largest
    /// first (ties: the earlier position first).</summary>
    private static int[] Top(float[] values, int n, int count) =>
        Enumerable.Range(0, Math.Min(n, values.Length)).OrderByDescending(i => values[i]).ThenBy(i => i).Take(count).ToArray();
}
