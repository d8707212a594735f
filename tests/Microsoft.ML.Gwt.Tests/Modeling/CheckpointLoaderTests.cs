using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class CheckpointLoaderTests
{
    private static string CopyCheckpoint(string name)
    {
        var dir = Directory.CreateTempSubdirectory("gwt-ckpt-").FullName;
        foreach (var f in Directory.GetFiles(EncoderParityTests.Checkpoint(name)))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        return dir;
    }

    [TestMethod]
    public void ShapeMismatchNamesKeyAndBothShapes()
    {
        var dir = CopyCheckpoint("bert-tiny");
        var cfg = File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"intermediate_size\": 64", "\"intermediate_size\": 48");
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg);
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(dir));
        StringAssert.Contains(ex.Message, "intermediate.dense.weight");
        StringAssert.Contains(ex.Message, "[64, 32]");
        StringAssert.Contains(ex.Message, "[48, 32]");
    }

    [TestMethod]
    public void MissingEncoderKeysAreListedByName()
    {
        var dir = CopyCheckpoint("bert-tiny");
        var path = Path.Combine(dir, "model.safetensors");
        var all = SafeTensors.Load(path);
        all.Remove("bert.encoder.layer.1.output.dense.weight");
        SafeTensors.Save(path, all);
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(dir));
        StringAssert.Contains(ex.Message, "bert.encoder.layer.1.output.dense.weight");
    }

    [TestMethod]
    public void MalformedConfigNamesFileAndField()
    {
        var dir = CopyCheckpoint("bert-tiny");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ \"hidden_size\": 30, \"num_attention_heads\": 4 }");
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(dir));
        StringAssert.Contains(ex.Message, "num_attention_heads");
        StringAssert.Contains(ex.Message, "config.json");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ not json");
        Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(dir));
    }

    [TestMethod]
    public void VocabularyLargerThanEmbeddingIsAnError()
    {
        var dir = CopyCheckpoint("bert-tiny");
        File.AppendAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 5).Select(i => $"extra{i}"));
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(dir));
        StringAssert.Contains(ex.Message, "vocab_size");
    }

    [TestMethod]
    public void MissingFolderAndMissingTokenizerAreClear()
    {
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => TransformerTextEncoder.FromPretrained("/nonexistent/gwt"));
        var dir = CopyCheckpoint("bert-tiny");
        File.Delete(Path.Combine(dir, "vocab.txt"));
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => TransformerTextEncoder.FromPretrained(dir));
        StringAssert.Contains(ex.Message, "vocab.txt");
    }
}
