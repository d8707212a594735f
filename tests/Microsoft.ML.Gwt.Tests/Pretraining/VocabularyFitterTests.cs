using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

[TestClass]
public sealed class VocabularyFitterTests
{
    private static readonly string[] Corpus = Enumerable.Range(0, 300)
        .Select(i => $"The runner was running quickly; runners run daily. Email {i % 7} about unsubscribing now!").ToArray();

    [TestMethod]
    public void FitsSpecialsFirstAndFrequentWordsWhole()
    {
        var tokenizer = WordPieceVocabularyFitter.Fit(Corpus, vocabularySize: 120);
        var vocab = tokenizer.Vocabulary!;
        CollectionAssert.AreEqual(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" },
            vocab.OrderBy(kv => kv.Value).Take(5).Select(kv => kv.Key).ToArray());
        Assert.IsLessThanOrEqualTo(120, tokenizer.VocabSize);
        // The corpus has few distinct words: merging stops when each is one token, before the budget is full.
        Assert.HasCount(1, tokenizer.EncodeWithoutSpecialTokens("unsubscribing", 100));
        // Frequent words are single tokens; a new word is spelt with pieces, never [UNK].
        var ids = tokenizer.EncodeWithoutSpecialTokens("running runners", 1000);
        Assert.HasCount(2, ids, string.Join(",", ids));
        var unseen = tokenizer.EncodeWithoutSpecialTokens("unrunnable", 1000);
        Assert.IsGreaterThan(1, unseen.Count);
        Assert.DoesNotContain(vocab["[UNK]"], unseen);
        Assert.IsTrue(vocab.Keys.Any(k => k.StartsWith("##", StringComparison.Ordinal) && k.Length > 3), "continuation pieces are merged");
    }

    [TestMethod]
    public void FittingIsDeterministic()
    {
        var a = WordPieceVocabularyFitter.Fit(Corpus, vocabularySize: 90);
        var b = WordPieceVocabularyFitter.Fit(Corpus.Reverse(), vocabularySize: 90);
        Assert.AreEqual(a.VocabularyText, b.VocabularyText, "the same counts give the same vocabulary whatever the text order");
    }
}
