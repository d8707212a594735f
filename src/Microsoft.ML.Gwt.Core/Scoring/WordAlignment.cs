using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// Words and sub-word tokens of a token classifier, aligned as Hugging Face's <c>run_ner.py</c>
/// (<c>tokenize_and_align_labels</c> with <c>label_all_tokens=False</c>) aligns them: a sentence's words are its
/// whitespace-separated parts; the first sub-token of each word carries the word's tag, its other sub-tokens and the
/// special tokens carry <see cref="Ignore"/> (left out of the loss); a word is predicted from its first sub-token.
/// </summary>
public static class WordAlignment
{
    /// <summary>The label of positions the loss ignores (-100, PyTorch's and Hugging Face's <c>ignore_index</c>).</summary>
    public const int Ignore = -100;

    /// <summary>A sentence's words: its parts between whitespace (none for null or blank text).</summary>
    public static string[] Words(string? sentence) =>
        string.IsNullOrEmpty(sentence) ? Array.Empty<string>() : sentence.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>For each of <paramref name="words"/> words, the position of its first sub-token in an encoding whose
    /// positions came from the words <paramref name="wordIndex"/> gives (<see cref="EncodedWords.WordIndex"/>); -1 for a
    /// word with no token (cut by truncation, or text the tokenizer drops).</summary>
    public static int[] FirstTokens(int[] wordIndex, int words)
    {
        ArgumentNullException.ThrowIfNull(wordIndex);
        var first = new int[words];
        Array.Fill(first, -1);
        for (int i = wordIndex.Length - 1; i >= 0; i--)
        {
            int w = wordIndex[i];
            if (w >= 0 && w < words)
            {
                first[w] = i;
            }
        }
        return first;
    }

    /// <summary>The per-position labels of an encoding: each word's tag at its first sub-token, <see cref="Ignore"/>
    /// elsewhere.</summary>
    /// <param name="wordIndex">Each position's word (-1 for a special token).</param>
    /// <param name="tags">Each word's 0-based tag.</param>
    public static int[] TokenLabels(int[] wordIndex, IReadOnlyList<int> tags)
    {
        ArgumentNullException.ThrowIfNull(wordIndex);
        ArgumentNullException.ThrowIfNull(tags);
        var labels = new int[wordIndex.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            int w = wordIndex[i];
            labels[i] = w >= 0 && (i == 0 || wordIndex[i - 1] != w) ? tags[w] : Ignore;
        }
        return labels;
    }
}
