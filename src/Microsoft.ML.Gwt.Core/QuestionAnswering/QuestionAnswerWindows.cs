using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>One model input of a (question, context) pair: the question and a window of the context's tokens with the
/// family's special tokens around them, each position's context word, and, for training, where the answer starts and
/// ends (0, the classification token, when the window does not hold the whole answer).</summary>
/// <param name="Text">Ids and segment ids.</param>
/// <param name="WordIndex">For each position, the context word its token came from; -1 for the question and special tokens.</param>
/// <param name="StartPosition">The answer's first position in this window (training; 0 when it is not inside).</param>
/// <param name="EndPosition">The answer's last position in this window (training; 0 when it is not inside).</param>
public sealed record QuestionAnswerWindow(EncodedText Text, int[] WordIndex, int StartPosition, int EndPosition);

/// <summary>How (question, context) pairs become windows: tokens per window, the overlap of consecutive windows, and
/// the question's and the answer's token limits.</summary>
/// <param name="MaxSequenceLength">Tokens per window, special tokens included.</param>
/// <param name="DocumentStride">Tokens two consecutive windows of a long context share (Hugging Face tokenizers'
/// <c>stride</c>, run_qa.py's <c>doc_stride</c>); cut to the window's context budget less one.</param>
/// <param name="MaxQuestionTokens">A longer question is cut to this many tokens (BERT run_squad.py's
/// <c>max_query_length</c>, 64); also to half the window.</param>
/// <param name="MaxAnswerTokens">The longest answer predicted, in tokens (<c>max_answer_length</c>, 30).</param>
public sealed record QuestionAnswerLayout(int MaxSequenceLength, int DocumentStride, int MaxQuestionTokens, int MaxAnswerTokens);

/// <summary>
/// Splits a (question, context) pair into model inputs as Hugging Face's <c>prepare_train_features</c> and
/// <c>prepare_validation_features</c> do with <c>truncation="only_second"</c> and <c>return_overflowing_tokens</c>:
/// the question first, then as much of the context as fits; a longer context gives further windows that overlap the
/// previous one by <see cref="QuestionAnswerLayout.DocumentStride"/> tokens. The context is split into words first
/// (<see cref="ContextWords"/>) and encoded with <see cref="TextTokenizer.EncodeWords(IReadOnlyList{string})"/>, so each
/// token knows its word and hence its characters.
/// </summary>
public static class QuestionAnswerWindows
{
    /// <summary>The windows of one pair. <paramref name="answerWords"/> (training) is the answer's first and last context
    /// word; a window that does not contain every token of both is labelled (0, 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window has no room for a context token.</exception>
    public static IReadOnlyList<QuestionAnswerWindow> Encode(TextTokenizer tokenizer, ContextWords context, string? question,
        QuestionAnswerLayout layout, (int First, int Last)? answerWords = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(layout);
        int special = tokenizer.CountSpecialTokens(pair: true);
        int questionLimit = Math.Min(layout.MaxQuestionTokens, (layout.MaxSequenceLength - special) / 2);
        var q = tokenizer.EncodeWithoutSpecialTokens(question, questionLimit * TextTokenizer.MaxCharsPerToken);
        if (q.Count > questionLimit)
        {
            q = q.Take(questionLimit).ToArray();
        }
        int budget = layout.MaxSequenceLength - special - q.Count;
        if (budget < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout.MaxSequenceLength,
                $"MaxSequenceLength {layout.MaxSequenceLength} leaves no room for the context after the question and {special} special tokens.");
        }
        int step = budget - Math.Clamp(layout.DocumentStride, 0, budget - 1);

        var tokens = new List<int>();
        var tokenWord = new List<int>();
        var perWord = tokenizer.EncodeWords(context.Words);
        for (int w = 0; w < perWord.Length; w++)
        {
            foreach (int id in perWord[w])
            {
                tokens.Add(id);
                tokenWord.Add(w);
            }
        }
        int answerStart = -1, answerEnd = -1;
        if (answerWords is { } a)
        {
            answerStart = tokenWord.FindIndex(w => w >= a.First);
            answerEnd = tokenWord.FindLastIndex(w => w <= a.Last);
        }

        var windows = new List<QuestionAnswerWindow>();
        for (int start = 0; ; start += step)
        {
            int length = Math.Min(budget, tokens.Count - start);
            var sequence = tokenizer.WithSpecialTokens(q, tokens.GetRange(start, length));
            var wordIndex = new int[sequence.SequenceIds.Length];
            int offset = -1;
            for (int i = 0, k = start; i < wordIndex.Length; i++)
            {
                if (sequence.SequenceIds[i] == 1)
                {
                    offset = offset < 0 ? i : offset;
                    wordIndex[i] = tokenWord[k++];
                }
                else
                {
                    wordIndex[i] = -1;
                }
            }
            int startPosition = 0, endPosition = 0;
            if (answerStart >= start && answerEnd >= answerStart && answerEnd < start + length)
            {
                startPosition = offset + answerStart - start;
                endPosition = offset + answerEnd - start;
            }
            windows.Add(new QuestionAnswerWindow(sequence.Text, wordIndex, startPosition, endPosition));
            if (start + length >= tokens.Count)
            {
                return windows;
            }
        }
    }
}
