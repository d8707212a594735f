using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

/// <summary>Pre-split words (<see cref="TextTokenizer.EncodeWords(IReadOnlyList{string})"/>) and explicit layouts
/// (<see cref="TextTokenizer.WithSpecialTokens"/>), the tokenizer surface of token classification and question answering.
/// The reference is the whole-text encoding of the same words joined by spaces, which each family's pre-tokenizer splits
/// at the spaces again (WordPiece's basic tokenizer, SentencePiece's whitespace pieces, byte-level BPE's regex, whose
/// pieces carry their leading space), so per-word encoding must give the same ids; for RoBERTa's byte-level BPE
/// with a space before the first word too, as Hugging Face's <c>add_prefix_space=True</c>.</summary>
[TestClass]
public sealed class WordEncodingTests
{
    private static readonly string[] Words = ["The", "meeting", "moved", "to", "Zurich,", "on", "3rd", "December", "(tentatively)", "at", "unbelievably", "9:30."];

    private static TextTokenizer Checkpoint(string name) => TokenizerTestData.Load(EncoderParityTests.Checkpoint(name));

    [TestMethod]
    [DataRow("bert-tiny", "")]
    [DataRow("electra-tiny", "")]
    [DataRow("xlm-roberta-tiny", "")]
    [DataRow("deberta-v3-tiny", "")]
    [DataRow("roberta-tiny", " ")]
    public void WordsEncodeAsTheSameWordsJoinedBySpaces(string checkpoint, string prefix)
    {
        var tok = Checkpoint(checkpoint);
        var perWord = tok.EncodeWords(Words);
        Assert.HasCount(Words.Length, perWord);
        var joined = tok.EncodeWithoutSpecialTokens(prefix + string.Join(" ", Words), 100_000);
        CollectionAssert.AreEqual(joined.ToArray(), perWord.SelectMany(w => w).ToArray());
        Assert.IsTrue(perWord.Any(w => w.Count > 1), "some word splits into several sub-words (the test would not see misaligned pieces otherwise)");
    }

    [TestMethod]
    public void RobertaWordsStartWithASpaceTheFirstIncluded()
    {
        var tok = Checkpoint("roberta-tiny");
        var first = tok.EncodeWords(["the", "the"]);
        CollectionAssert.AreEqual(first[0].ToArray(), first[1].ToArray(), "every word is encoded after a space, the first too");
        CollectionAssert.AreEqual(tok.EncodeWithoutSpecialTokens(" the", 100).ToArray(), first[0].ToArray());
        CollectionAssert.AreNotEqual(tok.EncodeWithoutSpecialTokens("the", 100).ToArray(), first[0].ToArray(),
            "the fixture's vocabulary tells 'the' from ' the' (else the test shows nothing)");
    }

    [TestMethod]
    public void FittedTokenizerWordsAfterTheFirstCarryTheirSpace()
    {
        var corpus = Enumerable.Repeat(string.Join(" ", Words) + " the meeting the meeting", 3).ToArray();
        var tok = FittedTiktokenTokenizer.Fit(corpus, maxVocabulary: 200, minCount: 2);
        var perWord = tok.EncodeWords(Words);
        CollectionAssert.AreEqual(tok.EncodeWithoutSpecialTokens(string.Join(" ", Words), 100_000).ToArray(), perWord.SelectMany(w => w).ToArray());
        Assert.DoesNotContain(FittedTiktokenTokenizer.Unknown, perWord.SelectMany(w => w).ToArray(), "every piece is in the fitted vocabulary");
    }

    [TestMethod]
    public void TokenizerJsonWordsAreEachTheirOwnText()
    {
        var tok = TokenizerTestData.Load(TokenizerTestData.Folder("roberta", 50_000,
            (TokenizerTestData.Path("bytebpe-json", "tokenizer.json"), "tokenizer.json")));
        var perWord = tok.EncodeWords(Words);
        for (int i = 0; i < Words.Length; i++)
        {
            CollectionAssert.AreEqual(tok.EncodeWithoutSpecialTokens(Words[i], 1000).ToArray(), perWord[i].ToArray(), Words[i]);
        }
    }

    [TestMethod]
    public void EncodedWordsMapEveryPositionToItsWordAndSpecialTokensToMinusOne()
    {
        var tok = Checkpoint("bert-tiny");
        var pieces = tok.EncodeWords(Words);
        var e = tok.EncodeWords(Words, 1000);
        var full = tok.Encode(string.Join(" ", Words), null, 1000);
        CollectionAssert.AreEqual(full.Ids, e.Text.Ids, "the same ids as the sentence");
        CollectionAssert.AreEqual(full.TypeIds, e.Text.TypeIds);
        var expected = new List<int> { -1 };
        for (int w = 0; w < Words.Length; w++)
        {
            expected.AddRange(Enumerable.Repeat(w, pieces[w].Count));
        }
        expected.Add(-1);
        CollectionAssert.AreEqual(expected.ToArray(), e.WordIndex);
    }

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("xlm-roberta-tiny")]
    public void EncodedWordsAreCutAfterTheBudgetLastTokensFirst(string checkpoint)
    {
        var tok = Checkpoint(checkpoint);
        var pieces = tok.EncodeWords(Words).SelectMany((p, w) => p.Select(id => (id, w))).ToArray();
        int maxTokens = 9;
        int budget = maxTokens - tok.CountSpecialTokens(pair: false);
        var e = tok.EncodeWords(Words, maxTokens);
        Assert.HasCount(maxTokens, e.Text.Ids);
        var kept = e.Text.Ids.Where((_, i) => e.WordIndex[i] >= 0).ToArray();
        CollectionAssert.AreEqual(pieces.Take(budget).Select(p => p.id).ToArray(), kept);
        CollectionAssert.AreEqual(pieces.Take(budget).Select(p => p.w).ToArray(), e.WordIndex.Where(w => w >= 0).ToArray());
        Assert.AreEqual(-1, e.WordIndex[0]);
        Assert.AreEqual(-1, e.WordIndex[^1]);
    }

    [TestMethod]
    public void EncodedWordsNeedRoomForOneToken()
    {
        var tok = Checkpoint("bert-tiny");
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tok.EncodeWords(Words, 2));
        Assert.AreEqual("maxTokens", ex.ParamName);
        Assert.AreEqual(3, tok.EncodeWords(Words, 3).Text.Ids.Length);
    }

    [TestMethod]
    public void EmptyAndOverlongWordsGiveNoIdsOrACutWord()
    {
        var tok = Checkpoint("bert-tiny");
        var pieces = tok.EncodeWords(["", "the", new string('a', 10 * TextTokenizer.MaxCharsPerWord)]);
        Assert.IsEmpty(pieces[0]);
        CollectionAssert.AreEqual(tok.EncodeWithoutSpecialTokens(new string('a', TextTokenizer.MaxCharsPerWord), 100_000).ToArray(), pieces[2].ToArray());
    }

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    public void ExplicitLayoutsEqualThePairEncodingAndNameEachSequence(string checkpoint)
    {
        var tok = Checkpoint(checkpoint);
        var question = tok.EncodeWithoutSpecialTokens("where did the meeting move", 1000);
        var context = tok.EncodeWithoutSpecialTokens("the meeting moved to zurich on monday", 1000);
        var pair = tok.WithSpecialTokens(question, context);
        var reference = tok.Encode("where did the meeting move", "the meeting moved to zurich on monday", 1000);
        CollectionAssert.AreEqual(reference.Ids, pair.Text.Ids);
        CollectionAssert.AreEqual(reference.TypeIds, pair.Text.TypeIds);
        Assert.AreEqual(tok.CountSpecialTokens(pair: true), pair.SequenceIds.Count(s => s == -1));
        CollectionAssert.AreEqual(question.ToArray(), pair.Text.Ids.Where((_, i) => pair.SequenceIds[i] == 0).ToArray());
        CollectionAssert.AreEqual(context.ToArray(), pair.Text.Ids.Where((_, i) => pair.SequenceIds[i] == 1).ToArray());
        int firstContext = Array.IndexOf(pair.SequenceIds, 1);
        Assert.IsTrue(pair.SequenceIds.Take(firstContext).All(s => s != 1) && pair.SequenceIds.Skip(firstContext).All(s => s != 0),
            "the question comes before the context");

        var single = tok.WithSpecialTokens(question, null);
        CollectionAssert.AreEqual(tok.Encode("where did the meeting move", null, 1000).Ids, single.Text.Ids);
        Assert.AreEqual(tok.CountSpecialTokens(pair: false), single.SequenceIds.Count(s => s == -1));
        Assert.IsFalse(single.SequenceIds.Contains(1));
    }
}
