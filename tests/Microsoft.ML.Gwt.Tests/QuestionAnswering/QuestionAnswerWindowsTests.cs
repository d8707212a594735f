using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>Context words with character spans, windows with a stride (Hugging Face's <c>prepare_train_features</c>),
/// and the n-best span decoding (<c>postprocess_qa_predictions</c>).</summary>
[TestClass]
public sealed class QuestionAnswerWindowsTests
{
    private static TextTokenizer BertTiny()
    {
        var folder = EncoderParityTests.Checkpoint("bert-tiny");
        return TextTokenizer.FromPretrained(folder, CheckpointLoader.ReadConfig(folder));
    }

    [TestMethod]
    public void WordsSplitAtWhitespaceAndPunctuationWithTheirCharacters()
    {
        var words = ContextWords.Split("  Paris. costs $1,299 (e-mail: a@b.io)");
        CollectionAssert.AreEqual(new[] { "Paris", ".", "costs", "$", "1", ",", "299", "(", "e", "-", "mail", ":", "a", "@", "b", ".", "io", ")" }, words.Words.ToArray());
        for (int i = 0; i < words.Words.Count; i++)
        {
            Assert.AreEqual(words.Words[i], words.Text[words.Starts[i]..words.Ends[i]]);
        }
        Assert.AreEqual(2, words.Starts[0]);
        Assert.AreEqual(-1, words.WordOfChar(0), "whitespace before the first word");
        Assert.AreEqual(1, words.WordOfChar(8), "whitespace belongs to the word before, as char_to_word_offset");
        Assert.AreEqual(("$1,299".Length), words.CharSpan(3, 6).Length);
    }

    [TestMethod]
    public void AShortPairIsTheTokenizersOwnPairEncoding()
    {
        var tokenizer = BertTiny();
        const string question = "is the cat happy ?";
        const string context = "the cat sat on the mat. hello world!";
        var windows = QuestionAnswerWindows.Encode(tokenizer, ContextWords.Split(context), question, new QuestionAnswerLayout(64, 16, 64, 30));
        Assert.HasCount(1, windows);
        var pair = tokenizer.Encode(question, context, 64);
        CollectionAssert.AreEqual(pair.Ids, windows[0].Text.Ids);
        CollectionAssert.AreEqual(pair.TypeIds, windows[0].Text.TypeIds);
    }

    [TestMethod]
    public void ALongContextGivesOverlappingWindowsLabelledWhereTheyHoldTheAnswer()
    {
        var tokenizer = BertTiny();
        // 24 words of one token each; the answer is words 13..14 ("happy dog").
        var text = string.Join(' ', Enumerable.Range(0, 24).Select(i => i == 13 ? "happy" : i == 14 ? "dog" : $"w{i % 18}"));
        var words = ContextWords.Split(text);
        var layout = new QuestionAnswerLayout(MaxSequenceLength: 12, DocumentStride: 3, MaxQuestionTokens: 64, MaxAnswerTokens: 30);
        var windows = QuestionAnswerWindows.Encode(tokenizer, words, "the dog", layout, (13, 14));
        // Budget 12 - 3 special - 2 question = 7 context tokens, a step of 7 - 3 = 4: windows start at 0, 4, ..., 20 (the
        // window at 16 ends at token 22, so one more holds the last token).
        Assert.HasCount(6, windows);
        var firstWords = windows.Select(w => w.WordIndex.First(i => i >= 0)).ToArray();
        CollectionAssert.AreEqual(new[] { 0, 4, 8, 12, 16, 20 }, firstWords);
        Assert.IsTrue(windows.All(w => w.Text.Ids.Length <= 12));
        Assert.AreEqual(23, windows[^1].WordIndex.Max());
        foreach (var w in windows)
        {
            var context = w.WordIndex.Where(i => i >= 0).ToArray();
            bool holds = context.Contains(13) && context.Contains(14);
            if (holds)
            {
                Assert.AreEqual(13, w.WordIndex[w.StartPosition]);
                Assert.AreEqual(14, w.WordIndex[w.EndPosition]);
            }
            else
            {
                Assert.AreEqual((0, 0), (w.StartPosition, w.EndPosition), "a window without the whole answer points at the classification token");
            }
        }
        Assert.AreEqual(2, windows.Count(w => w.StartPosition > 0), "windows 8 and 12 hold words 13 and 14");
    }

    [TestMethod]
    public void TheBestSpansAreContextSpansMappedToCharactersWithSoftmaxScores()
    {
        var words = ContextWords.Split("Paris.");
        // Positions: [CLS] Paris . [SEP]
        var window = (new[] { -1, 0, 1, -1 }, new float[] { 9, 2, 0, 5 }, new float[] { 9, 0, 2, 5 });
        var answers = AnswerSpans.Decode(words, new[] { window }, topK: 2, maxAnswerTokens: 30);
        // Candidates: (Paris, .) 4; (Paris, Paris) 2; (., .) 2; special positions never count.
        Assert.HasCount(2, answers);
        Assert.AreEqual("Paris.", answers[0].Text);
        Assert.AreEqual(0, answers[0].Start);
        Assert.AreEqual("Paris", answers[1].Text);
        double z = 1 + 2 * Math.Exp(-2);
        Assert.AreEqual(1 / z, answers[0].Score, 1e-6);
        Assert.AreEqual(Math.Exp(-2) / z, answers[1].Score, 1e-6);

        var oneToken = AnswerSpans.Decode(words, new[] { window }, topK: 3, maxAnswerTokens: 1);
        CollectionAssert.AreEqual(new[] { "Paris", "." }, oneToken.Select(a => a.Text).ToArray());
        Assert.AreEqual(0.5f, oneToken[0].Score, 1e-6f);

        // The same span from two overlapping windows is one answer; no context position: no answer.
        var twice = AnswerSpans.Decode(words, new[] { window, window }, topK: 5, maxAnswerTokens: 30);
        Assert.AreEqual(3, twice.Length);
        Assert.IsEmpty(AnswerSpans.Decode(words, new[] { (new[] { -1, -1 }, new float[] { 1, 2 }, new float[] { 1, 2 }) }, 3, 30));
    }
}
