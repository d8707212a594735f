using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

[TestClass]
public sealed class PretrainedTokenizerFilesTests
{
    [TestMethod]
    [DataRow("spiece.model", "ALBERT")]
    [DataRow("tokenizer.model", "LLaMA")]
    [DataRow("bpe.codes", "XLM")]
    [DataRow("vocab.json", "merges.txt")]
    public void TokenizerFileOfAnUnsupportedKindSaysWhatItIs(string file, string kind)
    {
        var dir = TokenizerTestData.Folder("bert", 100);
        File.WriteAllText(Path.Combine(dir, file), "x");
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, file);
        StringAssert.Contains(ex.Message, kind);
        StringAssert.Contains(ex.Message, "tokenizer.json", "the message lists the supported files");
    }

    [TestMethod]
    public void FolderWithoutTokenizerIsFileNotFound()
    {
        var dir = TokenizerTestData.Folder("bert", 100);
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, dir);
        StringAssert.Contains(ex.Message, "sentencepiece.bpe.model");
    }

    [TestMethod]
    [DataRow("xlm-roberta-tiny", typeof(SentencePieceTextTokenizer), 1)]
    [DataRow("distilbert-tiny", typeof(WordPieceTextTokenizer), 0)]
    [DataRow("roberta-tiny", typeof(RobertaBpeTextTokenizer), 1)]
    public void ReferenceCheckpointFoldersLoadTheirFamilyTokenizer(string name, Type kind, int pad)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var tok = TokenizerTestData.Load(folder);
        Assert.IsInstanceOfType(tok, kind);
        Assert.AreEqual(pad, tok.PadId);
    }
}
