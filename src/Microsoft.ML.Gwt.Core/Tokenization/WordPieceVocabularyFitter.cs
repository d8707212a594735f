using Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

namespace Microsoft.ML.Gwt.Core.Tokenization;

/// <summary>
/// Fits a WordPiece vocabulary (<c>vocab.txt</c>) to a corpus, as Hugging Face tokenizers' <c>WordPieceTrainer</c>
/// does it: the text is normalized and split as BERT's tokenizer does (<see cref="WordPieceTextTokenizer"/>), then
/// byte-pair merges with the <c>##</c> continuation prefix are learned over the word counts, most frequent pair first
/// (ties broken by symbol order, so fitting is deterministic), until the vocabulary is full. The vocabulary starts
/// with <c>[PAD] [UNK] [CLS] [SEP] [MASK]</c> (ids 0-4), then the alphabet, then the merged pieces. Only the word
/// counts are held in memory, never the corpus.
/// </summary>
public static class WordPieceVocabularyFitter
{
    /// <summary>The special tokens, in id order.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };

    /// <summary>Words longer than this are <c>[UNK]</c> for WordPiece (Hugging Face's <c>max_input_chars_per_word</c>).</summary>
    private const int MaxWordChars = 100;

    /// <summary>Fits a vocabulary of at most <paramref name="vocabularySize"/> tokens.</summary>
    /// <param name="corpus">The texts (streamed once).</param>
    /// <param name="vocabularySize">The vocabulary size, special tokens included.</param>
    /// <param name="lowerCase">Lowercase and strip accents, as BERT uncased.</param>
    /// <param name="minFrequency">A pair is merged only when it occurs at least this often.</param>
    /// <param name="alphabetLimit">The most frequent characters kept in the alphabet; words with others are left out.</param>
    /// <param name="maxCharsPerText">Characters of each text that are read.</param>
    public static WordPieceTextTokenizer Fit(IEnumerable<string?> corpus, int vocabularySize = 8192, bool lowerCase = true,
        int minFrequency = 2, int alphabetLimit = 1000, int maxCharsPerText = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (vocabularySize <= SpecialTokens.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, $"The vocabulary needs more than {SpecialTokens.Count} entries.");
        }
        var words = CountWords(corpus, lowerCase, maxCharsPerText);
        var pieces = new Trainer(words, vocabularySize - SpecialTokens.Count, minFrequency, alphabetLimit).Run();
        var text = string.Join("\n", SpecialTokens.Concat(pieces)) + "\n";
        return new WordPieceTextTokenizer(text, lowerCase);
    }

    private static Dictionary<string, long> CountWords(IEnumerable<string?> corpus, bool lowerCase, int maxChars)
    {
        var normalizer = new BertNormalizer(true, true, null, lowerCase);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }
            var normalized = normalizer.Normalize(Runes.Sanitize(text.Length > maxChars ? text[..maxChars] : text));
            foreach (var word in PreTokenizer.BertSplit(normalized))
            {
                if (word.Length is > 0 and <= MaxWordChars)
                {
                    counts[word] = counts.GetValueOrDefault(word) + 1;
                }
            }
        }
        return counts;
    }

    /// <summary>Byte-pair merges over word counts with a lazily updated priority queue of pair counts.</summary>
    private sealed class Trainer
    {
        private readonly List<string> _symbols = new();
        private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
        private readonly List<int[]> _words = new();
        private readonly List<long> _wordCounts = new();
        private readonly Dictionary<(int, int), long> _pairCounts = new();
        private readonly Dictionary<(int, int), HashSet<int>> _pairWords = new();
        private readonly PriorityQueue<(int, int), (long, int, int)> _queue = new();
        private readonly int _budget, _minFrequency;

        public Trainer(Dictionary<string, long> words, int budget, int minFrequency, int alphabetLimit)
        {
            _budget = budget;
            _minFrequency = minFrequency;
            var charCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (word, count) in words)
            {
                foreach (var c in Chars(word))
                {
                    charCounts[c] = charCounts.GetValueOrDefault(c) + count;
                }
            }
            var alphabet = charCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Take(alphabetLimit).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            // Word-start and continuation forms of each kept character, by frequency.
            var initial = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var word in words.Keys.OrderBy(w => w, StringComparer.Ordinal))
            {
                var chars = Chars(word).ToList();
                if (!chars.All(alphabet.Contains))
                {
                    continue;
                }
                var ids = new int[chars.Count];
                for (int i = 0; i < chars.Count; i++)
                {
                    ids[i] = Symbol(i == 0 ? chars[i] : "##" + chars[i]);
                }
                _words.Add(ids);
                _wordCounts.Add(words[word]);
            }
            for (int w = 0; w < _words.Count; w++)
            {
                AddPairs(w, +1);
            }
            foreach (var (pair, count) in _pairCounts)
            {
                Push(pair, count);
            }
        }

        public List<string> Run()
        {
            while (_symbols.Count < _budget && _queue.TryDequeue(out var pair, out var priority))
            {
                long count = _pairCounts.GetValueOrDefault(pair);
                if (count != -priority.Item1)
                {
                    continue; // stale entry: the count changed since it was queued
                }
                if (count < _minFrequency)
                {
                    break;
                }
                Merge(pair);
            }
            return _symbols.Take(_budget).ToList();
        }

        private void Merge((int A, int B) pair)
        {
            var b = _symbols[pair.B];
            int merged = Symbol(_symbols[pair.A] + (b.StartsWith("##", StringComparison.Ordinal) ? b[2..] : b));
            var touched = new HashSet<(int, int)>();
            foreach (int w in _pairWords[pair].OrderBy(w => w).ToList())
            {
                var ids = _words[w];
                if (!Contains(ids, pair))
                {
                    continue;
                }
                AddPairs(w, -1, touched);
                var next = new List<int>(ids.Length);
                for (int i = 0; i < ids.Length; i++)
                {
                    if (i + 1 < ids.Length && ids[i] == pair.A && ids[i + 1] == pair.B)
                    {
                        next.Add(merged);
                        i++;
                    }
                    else
                    {
                        next.Add(ids[i]);
                    }
                }
                _words[w] = next.ToArray();
                AddPairs(w, +1, touched);
            }
            _pairCounts.Remove(pair);
            _pairWords.Remove(pair);
            foreach (var p in touched)
            {
                if (_pairCounts.TryGetValue(p, out long c) && c > 0)
                {
                    Push(p, c);
                }
            }
        }

        private static bool Contains(int[] ids, (int A, int B) pair)
        {
            for (int i = 0; i + 1 < ids.Length; i++)
            {
                if (ids[i] == pair.A && ids[i + 1] == pair.B)
                {
                    return true;
                }
            }
            return false;
        }

        private void AddPairs(int w, int sign, HashSet<(int, int)>? touched = null)
        {
            var ids = _words[w];
            long count = _wordCounts[w] * sign;
            for (int i = 0; i + 1 < ids.Length; i++)
            {
                var pair = (ids[i], ids[i + 1]);
                long updated = _pairCounts.GetValueOrDefault(pair) + count;
                if (updated <= 0)
                {
                    _pairCounts.Remove(pair);
                }
                else
                {
                    _pairCounts[pair] = updated;
                }
                if (sign > 0)
                {
                    if (!_pairWords.TryGetValue(pair, out var set))
                    {
                        _pairWords[pair] = set = new HashSet<int>();
                    }
                    set.Add(w);
                }
                touched?.Add(pair);
            }
        }

        private void Push((int A, int B) pair, long count) => _queue.Enqueue(pair, (-count, pair.A, pair.B));

        private int Symbol(string s)
        {
            if (!_symbolIds.TryGetValue(s, out int id))
            {
                id = _symbols.Count;
                _symbols.Add(s);
                _symbolIds[s] = id;
            }
            return id;
        }

        private static IEnumerable<string> Chars(string word)
        {
            for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1)
            {
                yield return char.IsSurrogatePair(word, i) ? word.Substring(i, 2) : word[i].ToString();
            }
        }
    }
}
