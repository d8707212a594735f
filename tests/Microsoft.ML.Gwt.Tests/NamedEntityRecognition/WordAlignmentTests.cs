using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>The word/sub-token alignment of Hugging Face's <c>tokenize_and_align_labels</c> (<c>label_all_tokens=False</c>):
/// the first sub-token of each word carries its tag, its other sub-tokens and the special tokens -100; a word is read at
/// its first sub-token.</summary>
[TestClass]
public sealed class WordAlignmentTests
{
    [TestMethod]
    public void FirstSubTokenCarriesTheTagTheRestAreIgnored()
    {
        // [CLS] w0 w0 w1 w2 w2 w2 [SEP], as word_ids() gives it (-1 for special tokens).
        int[] wordIndex = { -1, 0, 0, 1, 2, 2, 2, -1 };
        CollectionAssert.AreEqual(new[] { -100, 4, -100, 0, 7, -100, -100, -100 }, WordAlignment.TokenLabels(wordIndex, new[] { 4, 0, 7 }));
        CollectionAssert.AreEqual(new[] { 1, 3, 4, -1 }, WordAlignment.FirstTokens(wordIndex, 4), "a fourth word cut by truncation has no token");
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, WordAlignment.Words(" a\tb  c\n"));
        Assert.IsEmpty(WordAlignment.Words(null));
    }

    [TestMethod]
    [DataRow("bert-token-tiny")]
    [DataRow("xlm-roberta-token-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    public void RealTokenizersSplitLongWordsAndOnlyTheirFirstPieceIsLabelled(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var tokenizer = TextTokenizer.FromPretrained(folder, CheckpointLoader.ReadConfig(folder));
        // "catsing": cat ##s ##ing in the tiny WordPiece vocabularies; the BPE and SentencePiece ones split the long word.
        var words = new[] { name.StartsWith("bert", StringComparison.Ordinal) ? "catsing" : "internationalization", "a", "jane.doe@example.org", "b" };
        var tags = new[] { 1, 0, 2, 0 };
        var encoded = tokenizer.EncodeWords(words, 64);
        var labels = WordAlignment.TokenLabels(encoded.WordIndex, tags);
        var perWord = tokenizer.EncodeWords(words);
        Assert.IsTrue(perWord[0].Count >= 2, $"{name}: the long word splits into sub-tokens ({perWord[0].Count})");
        Assert.AreEqual(words.Count(w => tokenizer.EncodeWords(new[] { w })[0].Count > 0), labels.Count(l => l != WordAlignment.Ignore),
            "one labelled position per word that has a token");
        var first = WordAlignment.FirstTokens(encoded.WordIndex, words.Length);
        for (int w = 0; w < words.Length; w++)
        {
            if (first[w] >= 0)
            {
                Assert.AreEqual(tags[w], labels[first[w]], $"{name}: word {w} at its first sub-token");
            }
        }
        Assert.AreEqual(WordAlignment.Ignore, labels[0], "the leading special token is ignored");
        Assert.AreEqual(WordAlignment.Ignore, labels[^1], "the trailing special token is ignored");

        var cut = tokenizer.EncodeWords(words, perWord[0].Count + tokenizer.CountSpecialTokens(pair: false));
        var cutFirst = WordAlignment.FirstTokens(cut.WordIndex, words.Length);
        Assert.IsGreaterThanOrEqualTo(0, cutFirst[0]);
        Assert.IsTrue(cutFirst.Skip(1).All(p => p == -1), $"{name}: the words after the cut have no token");
    }
}
