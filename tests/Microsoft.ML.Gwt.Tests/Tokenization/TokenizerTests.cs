using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Tokenization;

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
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.HasCount(16, tok.Encode(huge, null, 16).Ids);
        Assert.IsLessThan(2000, sw.ElapsedMilliseconds);
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
