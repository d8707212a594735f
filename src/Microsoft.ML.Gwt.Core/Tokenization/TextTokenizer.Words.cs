namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>Ids of pre-split words with the special tokens around them, and the word each position came from.</summary>
/// <param name="Text">The ids and segment ids, special tokens included.</param>
/// <param name="WordIndex">For each position, the index of the word its token came from; -1 for a special token
/// (Hugging Face's <c>word_ids()</c>, with -1 for None).</param>
public readonly record struct EncodedWords(EncodedText Text, int[] WordIndex);

/// <summary>One or two id sequences with the family's special tokens around them, and where each position came from.</summary>
/// <param name="Text">The ids and segment ids, special tokens included.</param>
/// <param name="SequenceIds">For each position, 0 when it came from the first sequence, 1 from the second, -1 for a
/// special token (Hugging Face's <c>sequence_ids()</c>, with -1 for None).</param>
public readonly record struct SequenceLayout(EncodedText Text, int[] SequenceIds);

public abstract partial class TextTokenizer
{
    /// <summary>A word longer than this many characters is cut before it is tokenized (no real word is that long; a
    /// megabyte without spaces costs no more than this).</summary>
    public const int MaxCharsPerWord = 200;

    /// <summary>The sub-word ids of each pre-split word, as Hugging Face tokenizes <c>is_split_into_words=True</c>
    /// input: each word on its own (WordPiece, SentencePiece and tokenizer.json pipelines: the word as its own text; byte-level
    /// BPE from vocab.json and merges.txt: the word after a space, as with <c>add_prefix_space=True</c>, which Hugging Face
    /// requires for pre-split words; the fitted cl100k tokenizer: every word after the first after a space, as in running
    /// text). A word may give no id (text the normalizer removes); a word longer than <see cref="MaxCharsPerWord"/>
    /// characters is cut first.</summary>
    /// <param name="words">The words, for example a sentence split at whitespace.</param>
    public IReadOnlyList<int>[] EncodeWords(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var result = new IReadOnlyList<int>[words.Count];
        for (int i = 0; i < words.Count; i++)
        {
            result[i] = EncodeOneWord(words[i], i);
        }
        return result;
    }

    /// <summary>Pre-split words as one model input: their sub-word ids (<see cref="EncodeWords(IReadOnlyList{string})"/>)
    /// in order, cut after <paramref name="maxTokens"/> minus the special tokens (the last words lose their ids first,
    /// as Hugging Face's truncation does), wrapped with the family's special tokens. Words after the cut are not
    /// tokenized.</summary>
    /// <param name="words">The words.</param>
    /// <param name="maxTokens">The most ids of the result, special tokens included.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokens"/> leaves no room for a word's id.</exception>
    public EncodedWords EncodeWords(IReadOnlyList<string> words, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(words);
        int budget = maxTokens - SpecialTokenCount(pair: false);
        if (budget < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, $"At least {SpecialTokenCount(pair: false) + 1} tokens are needed.");
        }
        var ids = new List<int>();
        var wordOf = new List<int>();
        for (int w = 0; w < words.Count && ids.Count < budget; w++)
        {
            foreach (int id in EncodeOneWord(words[w], w))
            {
                if (ids.Count == budget)
                {
                    break;
                }
                ids.Add(id);
                wordOf.Add(w);
            }
        }
        var layout = WithSpecialTokens(ids, null);
        var wordIndex = new int[layout.SequenceIds.Length];
        for (int i = 0, k = 0; i < wordIndex.Length; i++)
        {
            wordIndex[i] = layout.SequenceIds[i] < 0 ? -1 : wordOf[k++];
        }
        return new EncodedWords(layout.Text, wordIndex);
    }

    /// <summary>How many special tokens the family adds around one sequence (<paramref name="pair"/> false) or a pair.</summary>
    public int CountSpecialTokens(bool pair) => SpecialTokenCount(pair);

    /// <summary>Wraps one or two id sequences, as they are, with the family's special tokens and segment ids (no
    /// truncation), and says which sequence each position came from.</summary>
    /// <param name="first">The first sequence's ids (a question, or the only text).</param>
    /// <param name="second">The second sequence's ids (a context window), or null.</param>
    public SequenceLayout WithSpecialTokens(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        ArgumentNullException.ThrowIfNull(first);
        // The layout is laid out once over markers (-1 for the first sequence, -2 for the second; special ids are not
        // negative), then the markers are replaced by the ids in order.
        var marked = Assemble(Enumerable.Repeat(-1, first.Count).ToArray(), second is null ? null : Enumerable.Repeat(-2, second.Count).ToArray());
        var ids = marked.Ids;
        var sequenceIds = new int[ids.Length];
        int nextFirst = 0, nextSecond = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            switch (ids[i])
            {
                case -1:
                    sequenceIds[i] = 0;
                    ids[i] = first[nextFirst++];
                    break;
                case -2:
                    sequenceIds[i] = 1;
                    ids[i] = second![nextSecond++];
                    break;
                default:
                    sequenceIds[i] = -1;
                    break;
            }
        }
        return new SequenceLayout(marked, sequenceIds);
    }

    /// <summary>The ids of the word at <paramref name="index"/> of a pre-split text, the word already cut to
    /// <see cref="MaxCharsPerWord"/>. By default the word on its own.</summary>
    protected virtual IReadOnlyList<int> EncodeWord(string word, int index) => EncodePlain(word);

    private IReadOnlyList<int> EncodeOneWord(string? word, int index) =>
        string.IsNullOrEmpty(word) ? Array.Empty<int>() : EncodeWord(word.Length > MaxCharsPerWord ? word[..MaxCharsPerWord] : word, index);
}
