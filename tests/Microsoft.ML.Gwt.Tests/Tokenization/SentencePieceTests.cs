using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

/// <summary>SentencePiece models trained and encoded by the real library (python3-sentencepiece 0.1.97); its ids for
/// 300 varied sentences are committed and must be matched exactly.</summary>
[TestClass]
public sealed class SentencePieceTests
{
    [TestMethod]
    [DataRow("unigram.model")] // Unigram, nmt_nfkc charsmap, user-defined symbol
    [DataRow("bpe.model")] // BPE, byte fallback, DeBERTa-style specials
    [DataRow("unigram-raw.model")] // identity normalizer, byte fallback, whitespace kept
    public void EncodesExactlyLikeTheSentencePieceLibrary(string file)
    {
        var encoder = new Microsoft.ML.Gwt.Core.Tokenization.SentencePiece.SentencePieceEncoder(
            Microsoft.ML.Gwt.Core.Tokenization.SentencePiece.SentencePieceModel.Parse(File.ReadAllBytes(TokenizerTestData.Path(file)), file), file);
        var sentences = TokenizerTestData.Sentences;
        var expected = TokenizerTestData.Ids(TokenizerTestData.Expected.GetProperty("spm").GetProperty(file));
        Assert.HasCount(300, expected);
        TokenizerTestData.AssertAllEqual(expected, i => encoder.Encode(sentences[i]).ToArray(), file, sentences);
    }

    [TestMethod]
    public void XlmRobertaFolderShiftsIdsByTheFairseqOffsetAndUsesRobertaPairs()
    {
        var dir = TokenizerTestData.Folder("xlm-roberta", 1201, (TokenizerTestData.Path("unigram.model"), "sentencepiece.bpe.model"));
        var tok = TokenizerTestData.Load(dir);
        Assert.IsInstanceOfType<SentencePieceTextTokenizer>(tok);
        Assert.AreEqual(1, tok.PadId);
        Assert.AreEqual(1201, tok.VocabSize);
        var sentences = TokenizerTestData.Sentences;
        TokenizerTestData.AssertAllEqual(TokenizerTestData.Ids(TokenizerTestData.Expected.GetProperty("xlmr_plain")),
            i => TokenizerTestData.Plain(tok, sentences[i], 1, 1), "xlm-r single", sentences);
        var pairs = TokenizerTestData.Pairs;
        TokenizerTestData.AssertAllEqual(TokenizerTestData.Ids(TokenizerTestData.Expected.GetProperty("layouts").GetProperty("xlm-roberta")),
            i => tok.Encode(pairs[i].A, pairs[i].B, 100_000).Ids, "xlm-r pairs");
        Assert.IsTrue(tok.Encode(pairs[0].A, pairs[0].B, 100_000).TypeIds.All(t => t == 0));
    }

    [TestMethod]
    public void CamembertFolderShiftsIdsByFour()
    {
        var dir = TokenizerTestData.Folder("camembert", 1204, (TokenizerTestData.Path("unigram.model"), "sentencepiece.bpe.model"));
        var tok = TokenizerTestData.Load(dir);
        var pairs = TokenizerTestData.Pairs;
        TokenizerTestData.AssertAllEqual(TokenizerTestData.Ids(TokenizerTestData.Expected.GetProperty("layouts").GetProperty("camembert")),
            i => tok.Encode(pairs[i].A, pairs[i].B, 100_000).Ids, "camembert pairs");
        Assert.AreEqual(1, tok.PadId);
    }

    [TestMethod]
    public void DebertaFolderUsesClsSepPiecesAndSegmentIds()
    {
        var dir = TokenizerTestData.Folder("deberta-v2", 1200, (TokenizerTestData.Path("bpe.model"), "spm.model"));
        var tok = TokenizerTestData.Load(dir);
        var pairs = TokenizerTestData.Pairs;
        var layouts = TokenizerTestData.Expected.GetProperty("layouts");
        TokenizerTestData.AssertAllEqual(TokenizerTestData.Ids(layouts.GetProperty("deberta-v2")),
            i => tok.Encode(pairs[i].A, pairs[i].B, 100_000).Ids, "deberta pairs");
        TokenizerTestData.AssertAllEqual(TokenizerTestData.Ids(layouts.GetProperty("deberta-v2-types")),
            i => tok.Encode(pairs[i].A, pairs[i].B, 100_000).TypeIds, "deberta segment ids");
        Assert.AreEqual(0, tok.PadId);
    }

    [TestMethod]
    public void SentencePieceFilesAreChosenBeforeVocabTxtAndRoundTripThroughSave()
    {
        var dir = TokenizerTestData.Folder("xlm-roberta", 1201,
            (TokenizerTestData.Path("unigram.model"), "sentencepiece.bpe.model"), (TokenizerTestData.Path("wordpiece", "vocab.txt"), "vocab.txt"));
        var tok = TokenizerTestData.Load(dir);
        Assert.IsInstanceOfType<SentencePieceTextTokenizer>(tok);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, true))
        {
            tok.Save(w);
        }
        ms.Position = 0;
        var back = TextTokenizer.Load(new BinaryReader(ms));
        foreach (var s in TokenizerTestData.Sentences.Take(50))
        {
            CollectionAssert.AreEqual(tok.Encode(s, "pair", 64).Ids, back.Encode(s, "pair", 64).Ids);
        }
    }

    [TestMethod]
    public void TruncatesPairsLongestFirstWithTheFamilySpecials()
    {
        var dir = TokenizerTestData.Folder("xlm-roberta", 1201, (TokenizerTestData.Path("unigram.model"), "sentencepiece.bpe.model"));
        var tok = TokenizerTestData.Load(dir);
        var e = tok.Encode("the the the the the the the the", "model", 8);
        Assert.HasCount(8, e.Ids);
        CollectionAssert.AreEqual(new[] { 0, 2, 2 }, new[] { e.Ids[0], e.Ids[^1], e.Ids[^3] }, "<s> ... </s></s> b </s>");
    }

    [TestMethod]
    public void MalformedOrUnsupportedModelFilesNameTheFile()
    {
        var dir = TokenizerTestData.Folder("xlm-roberta", 1201);
        File.WriteAllBytes(Path.Combine(dir, "sentencepiece.bpe.model"), new byte[] { 0x0A, 0xFF, 0xFF, 0x01 });
        var ex = Assert.ThrowsExactly<FormatException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, "sentencepiece.bpe.model");

        // A word model: one piece "a" (field 1), trainer_spec.model_type = 3 (WORD).
        File.WriteAllBytes(Path.Combine(dir, "sentencepiece.bpe.model"), new byte[] { 0x0A, 0x03, 0x0A, 0x01, (byte)'a', 0x12, 0x02, 0x18, 0x03 });
        var nse = Assert.ThrowsExactly<NotSupportedException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(nse.Message, "sentencepiece.bpe.model");
        StringAssert.Contains(nse.Message, "word");
    }
}
