using Google.Protobuf;
using Microsoft.ML.Gwt.OnnxImport;
using OnnxModel = global::Onnx.ModelProto;
using OnnxNode = global::Onnx.NodeProto;
using OnnxTensor = global::Onnx.TensorProto;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

/// <summary>Graphs the importer must refuse, each with an exception that names the file and what was wrong. The
/// damaged graphs are MiniLM's with one change, built with the ONNX classes Microsoft.ML.Gwt compiles for its exporter.</summary>
[TestClass]
public sealed class OnnxImportErrorTests
{
    private const string QueryBias = "encoder.layer.0.attention.self.query.bias";

    private readonly List<string> _folders = new();

    [TestCleanup]
    public void DeleteFolders() => _folders.ForEach(NuGetEncoders.Delete);

    private static OnnxModel MiniLm() => OnnxModel.Parser.ParseFrom(NuGetEncoders.Resources(NuGetEncoders.MiniLm).Model);

    /// <summary>Writes the model and a vocabulary to a fresh folder; returns the paths and an output folder beside them.</summary>
    private (string Model, string Vocab, string Output) Write(OnnxModel model, byte[]? vocab = null)
    {
        var dir = NuGetEncoders.TempFolder("error");
        _folders.Add(dir);
        Directory.CreateDirectory(dir);
        var modelPath = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(modelPath, model.ToByteArray());
        var vocabPath = Path.Combine(dir, "vocab.txt");
        File.WriteAllBytes(vocabPath, vocab ?? NuGetEncoders.Resources(NuGetEncoders.MiniLm).Vocab);
        return (modelPath, vocabPath, Path.Combine(dir, "imported"));
    }

    private static void AssertNothingWritten(string output)
    {
        Assert.IsFalse(Directory.Exists(output), "no output folder");
        var parent = Path.GetDirectoryName(output)!;
        Assert.IsEmpty(Directory.GetDirectories(parent), $"no staging folder left: {string.Join(", ", Directory.GetDirectories(parent))}");
    }

    [TestMethod]
    public void AGraphThatIsNotABertEncoderIsRefusedNamingTheFileAndTheMissingEmbedding()
    {
        var model = new OnnxModel { IrVersion = 8, OpsetImport = { new global::Onnx.OperatorSetIdProto { Version = 17 } }, Graph = new global::Onnx.GraphProto { Name = "mlp" } };
        var weight = new OnnxTensor { Name = "dense.weight", DataType = (int)OnnxTensor.Types.DataType.Float, Dims = { 4, 4 } };
        weight.FloatData.AddRange(Enumerable.Range(0, 16).Select(i => (float)i));
        model.Graph.Initializer.Add(weight);
        model.Graph.Node.Add(new OnnxNode { OpType = "MatMul", Input = { "x", "dense.weight" }, Output = { "h" } });
        model.Graph.Node.Add(new OnnxNode { OpType = "Relu", Input = { "h" }, Output = { "y" } });
        var (path, vocab, output) = Write(model, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"u8.ToArray());

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocab, output));
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, "not a BERT-family encoder graph");
        StringAssert.Contains(ex.Message, "embeddings.word_embeddings.weight");
        StringAssert.Contains(ex.Message, "dense.weight", "the message lists what the graph has");
        AssertNothingWritten(output);
    }

    [TestMethod]
    public void AMatMulWeightWhoseBiasIsMissingIsRefusedNamingTheInitializer()
    {
        var model = MiniLm();
        var add = model.Graph.Node.Single(n => n.OpType == "Add" && n.Input.Contains(QueryBias));
        var matMul = model.Graph.Node.Single(n => n.OpType == "MatMul" && add.Input.Contains(n.Output[0]));
        add.OpType = "Sub"; // the anonymous weight no longer feeds an Add with its bias
        var (path, vocab, output) = Write(model);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocab, output));
        Console.WriteLine(ex.Message);
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, $"MatMul weight '{matMul.Input[1]}' [384, 384]");
        StringAssert.Contains(ex.Message, "feeds no Add with a named bias");
        AssertNothingWritten(output);
    }

    [TestMethod]
    public void AnAnonymousBiasIsRefusedNamingBothInitializers()
    {
        var model = MiniLm();
        model.Graph.Initializer.Single(t => t.Name == QueryBias).Name = "q_bias";
        foreach (var node in model.Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == QueryBias)
                {
                    node.Input[i] = "q_bias";
                }
            }
        }
        var (path, vocab, output) = Write(model);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocab, output));
        Console.WriteLine(ex.Message);
        StringAssert.Contains(ex.Message, "is added to 'q_bias', which is not a Hugging Face BERT bias name");
        AssertNothingWritten(output);
    }

    [TestMethod]
    public void AMissingLayerNormIsRefusedNamingTheWeight()
    {
        var model = MiniLm();
        model.Graph.Initializer.Single(t => t.Name == "encoder.layer.3.output.LayerNorm.weight").Name = "ln_w";
        foreach (var node in model.Graph.Node.Where(n => n.Input.Contains("encoder.layer.3.output.LayerNorm.weight")))
        {
            node.Input[node.Input.IndexOf("encoder.layer.3.output.LayerNorm.weight")] = "ln_w";
        }
        var (path, vocab, output) = Write(model);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocab, output));
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, "no weight for 'encoder.layer.3.output.LayerNorm.weight'");
        AssertNothingWritten(output);
    }

    [TestMethod]
    public void AVocabularyLargerThanTheEmbeddingIsRefusedNamingBothSizes()
    {
        var vocab = NuGetEncoders.Resources(NuGetEncoders.MiniLm).Vocab.Concat("extra1\r\nextra2\r\nextra3\r\n"u8.ToArray()).ToArray();
        var (path, vocabPath, output) = Write(MiniLm(), vocab);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocabPath, output));
        StringAssert.Contains(ex.Message, vocabPath);
        StringAssert.Contains(ex.Message, "has 30525 tokens but the graph's embeddings.word_embeddings.weight has 30522 rows");
        AssertNothingWritten(output);
    }

    [TestMethod]
    public void AVocabularyWithoutBertsSpecialTokensIsRefused()
    {
        var (path, vocabPath, output) = Write(MiniLm(), "hello\nworld\n"u8.ToArray());
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => OnnxEncoderImport.Import(path, vocabPath, output));
        StringAssert.Contains(ex.Message, vocabPath);
        StringAssert.Contains(ex.Message, "[UNK]");
    }

    [TestMethod]
    public void FusedOnnxRuntimeGraphsAreRefused()
    {
        var model = MiniLm();
        model.Graph.Node.Add(new OnnxNode { OpType = "SkipLayerNormalization", Domain = "com.microsoft", Input = { "a", "b" }, Output = { "c" } });
        var (path, vocab, output) = Write(model);
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => OnnxEncoderImport.Import(path, vocab, output));
        StringAssert.Contains(ex.Message, "SkipLayerNormalization");
    }

    [TestMethod]
    public void ToleranceZeroRefusesNamingTheLargestDifferenceAndWritesNothing()
    {
        var (model, vocab) = NuGetEncoders.Resources(NuGetEncoders.ArcticXs);
        var output = NuGetEncoders.TempFolder("tolerance0");
        var ex = Assert.ThrowsExactly<OnnxImportVerificationException>(() =>
            OnnxEncoderImport.Import(new MemoryStream(model), new MemoryStream(vocab), output, new OnnxImportOptions { Tolerance = 0 }));
        Console.WriteLine(ex.Message);
        Assert.IsGreaterThan(0, ex.MaxAbsoluteDifference, "float32 reorderings differ a little");
        Assert.IsLessThan(1e-4, ex.MaxAbsoluteDifference);
        Assert.AreEqual("last_hidden_state", ex.Output);
        StringAssert.Contains(ex.Message, $"probe row {ex.Row}, token {ex.Token}, dimension {ex.Dimension}");
        StringAssert.Contains(ex.Message, "more than the tolerance 0.0E+000");
        Assert.IsFalse(Directory.Exists(output));
        Assert.IsFalse(Directory.Exists(Path.GetDirectoryName(output)!) && Directory.GetDirectories(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}*").Length > 0,
            "no staging folder left");
    }

    /// <summary>A graph that computes something else than the BERT its weights describe (here layer 0's attention scale
    /// 1/sqrt(32) changed to 1/4): the names and shapes all map, so only running both models can tell, and the import
    /// is refused with a difference far above the tolerance; an existing folder under the output's name is kept.</summary>
    [TestMethod]
    public void AGraphThatComputesSomethingElseIsRefusedAndTheExistingFolderIsKept()
    {
        var model = MiniLm();
        int changed = 0;
        foreach (var node in model.Graph.Node.Where(n => n.OpType == "Constant"))
        {
            var value = node.Attribute.Single(a => a.Name == "value").T;
            if (value.DataType == (int)OnnxTensor.Types.DataType.Float && value.RawData.Length == 4
                && Math.Abs(BitConverter.ToSingle(value.RawData.Span) - MathF.Sqrt(32)) < 1e-5 && changed++ == 0)
            {
                value.RawData = ByteString.CopyFrom(BitConverter.GetBytes(4f));
            }
        }
        Assert.AreEqual(6, changed, "one attention scale per layer");
        var (path, vocab, output) = Write(model);
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "marker.txt"), "the previous import");

        var ex = Assert.ThrowsExactly<OnnxImportVerificationException>(() => OnnxEncoderImport.Import(path, vocab, output));
        Console.WriteLine(ex.Message);
        Assert.IsGreaterThan(1e-2, ex.MaxAbsoluteDifference);
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, "differs from ONNX Runtime on the original graph by up to");
        Assert.AreEqual("the previous import", File.ReadAllText(Path.Combine(output, "marker.txt")));
        Assert.HasCount(1, Directory.GetFileSystemEntries(output));
        Assert.HasCount(1, Directory.GetDirectories(Path.GetDirectoryName(output)!), "only the kept folder: no staging left");
    }

    [TestMethod]
    public void ASecondImportReplacesTheFolder()
    {
        var (model, vocab) = NuGetEncoders.Resources(NuGetEncoders.ArcticXs);
        var output = NuGetEncoders.TempFolder("replace");
        _folders.Add(output);
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "stale.txt"), "old");
        var report = OnnxEncoderImport.Import(new MemoryStream(model), new MemoryStream(vocab), output);
        Assert.AreEqual(Path.GetFullPath(output), report.OutputFolder);
        Assert.IsFalse(File.Exists(Path.Combine(output, "stale.txt")));
        Assert.IsTrue(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.HasCount(1, Directory.GetDirectories(Path.GetDirectoryName(output)!).Where(d => Path.GetFileName(d).Contains("replace", StringComparison.Ordinal)));
    }
}
