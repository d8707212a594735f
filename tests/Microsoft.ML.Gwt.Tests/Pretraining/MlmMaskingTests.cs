using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

[TestClass]
public sealed class MlmMaskingTests
{
    /// <summary>[PAD] [UNK] [CLS] [SEP] [MASK], 40 word-start pieces w0..w39 (ids 5-44), 20 continuations ##c0..##c19 (ids 45-64).</summary>
    internal static WordPieceTextTokenizer Vocabulary() => new(string.Join("\n",
        new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
            .Concat(Enumerable.Range(0, 40).Select(i => $"w{i}"))
            .Concat(Enumerable.Range(0, 20).Select(i => $"##c{i}"))) + "\n");

    private static int[] RandomSequence(Random r, MlmTokens t, int length)
    {
        var s = new int[length];
        for (int i = 0; i < length; i++)
        {
            s[i] = r.Next(10) switch
            {
                0 => t.SepId,
                1 or 2 => 45 + r.Next(20),
                _ => 5 + r.Next(40),
            };
        }
        s[0] = t.ClsId;
        s[^1] = t.SepId;
        s[length / 2] = t.MaskId; // a literal [MASK] in the input is special too
        s[length / 3] = t.PadId;
        return s;
    }

    [TestMethod]
    public void ProportionsOnALargeSampleAndSpecialsNeverChosen()
    {
        var tokens = MlmTokens.From(Vocabulary(), "test");
        var masker = new MlmMasker(tokens, 0.15, wholeWord: false);
        var random = new Random(7);
        long candidates = 0, chosen = 0, masked = 0, replaced = 0, kept = 0;
        for (int n = 0; n < 2000; n++)
        {
            var sequence = RandomSequence(random, tokens, 128);
            int seqCandidates = sequence.Count(id => !tokens.IsSpecial(id));
            var (input, labels) = masker.Mask(sequence, random);
            int seqChosen = 0;
            for (int i = 0; i < sequence.Length; i++)
            {
                if (tokens.IsSpecial(sequence[i]))
                {
                    Assert.AreEqual(MlmMasker.Ignore, labels[i], $"special token {sequence[i]} at {i} was chosen");
                    Assert.AreEqual(sequence[i], input[i]);
                    continue;
                }
                if (labels[i] == MlmMasker.Ignore)
                {
                    Assert.AreEqual(sequence[i], input[i], "an unchosen token is left as it was");
                    continue;
                }
                seqChosen++;
                Assert.AreEqual(sequence[i], labels[i], "the label is the original id");
                if (input[i] == tokens.MaskId) masked++;
                else if (input[i] == sequence[i]) kept++;
                else
                {
                    replaced++;
                    Assert.IsFalse(tokens.IsSpecial(input[i]), "random replacements are ordinary tokens");
                }
            }
            Assert.AreEqual(Math.Max(1, (int)Math.Round(0.15 * seqCandidates, MidpointRounding.AwayFromZero)), seqChosen, "15% of each sequence's candidates");
            candidates += seqCandidates;
            chosen += seqChosen;
        }
        Assert.AreEqual(0.15, (double)chosen / candidates, 0.002);
        // ~38,000 chosen tokens: a binomial standard deviation of about 0.002 for 0.8 and 0.0015 for 0.1.
        Assert.AreEqual(0.8, (double)masked / chosen, 0.01);
        // A random draw equals the original with probability 1/60, so "kept" is 0.1 + 0.1/60.
        Assert.AreEqual(0.1 * (1 - 1.0 / 60), (double)replaced / chosen, 0.008);
        Assert.AreEqual(0.1 * (1 + 1.0 / 60), (double)kept / chosen, 0.008);
    }

    [TestMethod]
    public void WholeWordMaskingTakesWordsWhole()
    {
        var tokens = MlmTokens.From(Vocabulary(), "test");
        var masker = new MlmMasker(tokens, 0.15, wholeWord: true);
        var random = new Random(11);
        long candidates = 0, chosen = 0, partial = 0, multiPieceWordsChosen = 0;
        for (int n = 0; n < 1000; n++)
        {
            var sequence = RandomSequence(random, tokens, 96);
            var (_, labels) = masker.Mask(sequence, random);
            // Words: a non-special token and the ## pieces right after it.
            for (int i = 0; i < sequence.Length; i++)
            {
                if (tokens.IsSpecial(sequence[i]))
                {
                    Assert.AreEqual(MlmMasker.Ignore, labels[i]);
                    continue;
                }
                int end = i + 1;
                while (end < sequence.Length && !tokens.IsSpecial(sequence[end]) && tokens.ContinuesWord(sequence[end]))
                {
                    end++;
                }
                int labelled = Enumerable.Range(i, end - i).Count(j => labels[j] != MlmMasker.Ignore);
                if (labelled != 0 && labelled != end - i) partial++;
                if (labelled > 1) multiPieceWordsChosen++;
                candidates += end - i;
                chosen += labelled;
                i = end - 1;
            }
        }
        Assert.AreEqual(0, partial, "no word is masked in part");
        Assert.IsGreaterThan(100, multiPieceWordsChosen, "multi-piece words are chosen");
        Assert.AreEqual(0.15, (double)chosen / candidates, 0.01);
    }

    [TestMethod]
    public void PackingFillsSequencesWithConsecutiveTextsAndSplitsLongOnes()
    {
        var tokenizer = Vocabulary();
        var tokens = MlmTokens.From(tokenizer, "test");
        var texts = Enumerable.Range(0, 200).Select(i => string.Join(" ", Enumerable.Range(0, 1 + (i * 7) % 23).Select(j => $"w{(i + j) % 40}"))).ToList();
        texts.Insert(50, string.Join(" ", Enumerable.Range(0, 100).Select(j => $"w{j % 40}"))); // longer than a sequence
        texts.Insert(10, "");
        var packer = new SequencePacker(tokenizer, tokens, 32);
        var sequences = packer.Pack(texts).ToList();
        Assert.IsTrue(sequences.All(s => s.Length <= 32 && s[0] == tokens.ClsId && s[^1] == tokens.SepId));
        Assert.IsTrue(sequences.SkipLast(1).All(s => s.Length >= 31), "every sequence but the last is full (no padding)");
        var content = sequences.SelectMany(s => s.Where(id => id != tokens.ClsId && id != tokens.SepId)).ToList();
        var expected = texts.SelectMany(t => tokenizer.EncodeWithoutSpecialTokens(t, 1 << 20)).ToList();
        CollectionAssert.AreEqual(expected, content, "texts appear whole and in order");
        int totalTokens = sequences.Sum(s => s.Length);
        Assert.AreEqual(expected.Count + sequences.Count + sequences.Sum(s => s.Count(id => id == tokens.SepId)), totalTokens);
    }

    [TestMethod]
    public void TokenizersWithoutMaskTokenAreRefusedByName()
    {
        var noMask = new WordPieceTextTokenizer("[PAD]\n[UNK]\n[CLS]\n[SEP]\nw\n");
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => MlmTokens.From(noMask, "the tokenizer of 'x'"));
        StringAssert.Contains(ex.Message, "mask token");
        StringAssert.Contains(ex.Message, "'x'");
    }
}
