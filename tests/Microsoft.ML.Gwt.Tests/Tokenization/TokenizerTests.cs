using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

[TestClass]
public sealed class TokenizerTests
{
    private static TextTokenizer FromCheckpoint(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        return TextTokenizer.FromPretrained(folder, CheckpointLoader.ReadConfig(folder));
    }

    [TestMethod]
    public void WordPieceBuildsClsSepPairsWithSegmentIds()
    {
        var tok = FromCheckpoint("bert-tiny");
        var e = tok.Encode("Hello world", "the dogs", 32);
        // [CLS]=2 hello=14 world=15 [SEP]=3 the=5 dog=10 ##s=12 [SEP]=3
        CollectionAssert.AreEqual(new[] { 2, 14, 15, 3, 5, 10, 12, 3 }, e.Ids);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 1, 1, 1, 1 }, e.TypeIds);
    }

    [TestMethod]
    public void RobertaBpeMergesAndUsesDoubleSeparator()
    {
        var tok = FromCheckpoint("roberta-tiny");
        var e = tok.Encode("hello world", "hello", 32);
        // <s>=0 hello=15 Ġworld=20 </s>=2 </s>=2 hello=15 </s>=2
        CollectionAssert.AreEqual(new[] { 0, 15, 20, 2, 2, 15, 2 }, e.Ids);
        Assert.AreEqual(1, tok.PadId);
    }

    [TestMethod]
    public void TruncatesLongestFirstAndHandlesNullAndHugeText()
    {
        var tok = FromCheckpoint("bert-tiny");
        var e = tok.Encode("the cat sat on the mat", "dog", 6);
        CollectionAssert.AreEqual(new[] { 2, 5, 6, 3, 10, 3 }, e.Ids);
        CollectionAssert.AreEqual(new[] { 2, 3 }, tok.Encode(null, null, 8).Ids);
        CollectionAssert.AreEqual(new[] { 2, 3 }, tok.Encode("   ", null, 8).Ids);
        var huge = string.Concat(Enumerable.Repeat("the cat ", 131072)); // 1 MB
        // [CLS], then the=5 cat=6 seven times (14 ids), [SEP]
        CollectionAssert.AreEqual(new[] { 2 }.Concat(Enumerable.Repeat(new[] { 5, 6 }, 7).SelectMany(p => p)).Append(3).ToArray(), tok.Encode(huge, null, 16).Ids);
    }

    [TestMethod]
    public void AOneMegabyteTextIsCutBeforeItIsTokenized()
    {
        // What the tokenizer is handed is bounded by the allowed ids, not by the text: a 1 MB text costs no more than
        // a short one (MaxCharsPerToken characters per allowed id).
        var tok = new RecordingTokenizer();
        var huge = string.Concat(Enumerable.Repeat("the cat ", 131072)); // 1 MB
        var single = tok.Encode(huge, null, 16);
        CollectionAssert.AreEqual(new[] { (16 - 2) * TextTokenizer.MaxCharsPerToken }, tok.Lengths, "one sentence: 14 ids allowed");
        Assert.HasCount(16, single.Ids);
        tok.Lengths.Clear();
        var pair = tok.Encode(huge, huge, 16);
        CollectionAssert.AreEqual(new[] { 13 * TextTokenizer.MaxCharsPerToken, 13 * TextTokenizer.MaxCharsPerToken }, tok.Lengths, "a pair: 13 ids allowed, each sentence cut to them");
        Assert.HasCount(16, pair.Ids);
        tok.Lengths.Clear();
        tok.Encode("the cat", "sat", 16);
        CollectionAssert.AreEqual(new[] { 7, 3 }, tok.Lengths, "short texts are passed whole");
    }

    /// <summary>A whitespace tokenizer (one id per word) that records the length of every text it is asked to tokenize.</summary>
    private sealed class RecordingTokenizer : TextTokenizer
    {
        public List<int> Lengths { get; } = new();

        public override int VocabSize => 8;

        public override int PadId => 0;

        public override string Kind => "recording";

        protected override IReadOnlyList<int> EncodePlain(string text)
        {
            Lengths.Add(text.Length);
            return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => 4 + w.Length % 4).ToList();
        }

        protected override EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second) => AssembleClsSep(1, 2, first, second);

        protected override int SpecialTokenCount(bool pair) => pair ? 3 : 2;

        protected override void SavePayload(BinaryWriter writer) => throw new NotSupportedException();
    }

    [TestMethod]
    public void FittedTiktokenKeepsFrequentPiecesAndRoundTrips()
    {
        var corpus = new[] { "free money now", "free money", "meeting at noon", "free offer", "zebra" };
        var tok = FittedTiktokenTokenizer.Fit(corpus, maxVocabulary: 64, minCount: 2);
        var e = tok.Encode("free money zebra", null, 16);
        Assert.AreEqual(FittedTiktokenTokenizer.Cls, e.Ids[0]);
        Assert.AreEqual(FittedTiktokenTokenizer.Sep, e.Ids[^1]);
        Assert.IsTrue(e.Ids.Skip(1).Take(2).All(id => id >= 4), "frequent pieces get their own ids");
        Assert.Contains(FittedTiktokenTokenizer.Unknown, e.Ids, "a piece seen once is unknown");
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, true)) tok.Save(w);
        ms.Position = 0;
        var back = TextTokenizer.Load(new BinaryReader(ms));
        CollectionAssert.AreEqual(e.Ids, back.Encode("free money zebra", null, 16).Ids);
        Assert.AreEqual(tok.VocabSize, back.VocabSize);
    }
}
