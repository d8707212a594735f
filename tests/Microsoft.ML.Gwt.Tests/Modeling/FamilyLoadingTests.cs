using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class FamilyLoadingTests
{
    [TestMethod]
    [DataRow("bert", "bert.encoder.layer.1.attention.self.query.weight", "bert.pooler.dense.weight", "classifier.weight")]
    [DataRow("roberta", "roberta.encoder.layer.1.output.dense.weight", "classifier.dense.weight", "classifier.out_proj.weight")]
    [DataRow("xlm-roberta", "roberta.embeddings.position_embeddings.weight", "classifier.dense.weight", "classifier.out_proj.weight")]
    [DataRow("camembert", "roberta.embeddings.token_type_embeddings.weight", "classifier.dense.weight", "classifier.out_proj.weight")]
    [DataRow("distilbert", "distilbert.transformer.layer.1.attention.q_lin.weight", "distilbert.transformer.layer.1.ffn.lin2.weight", "pre_classifier.weight")]
    [DataRow("distilbert", "distilbert.transformer.layer.0.sa_layer_norm.weight", "distilbert.transformer.layer.0.output_layer_norm.bias", "classifier.weight")]
    [DataRow("electra", "electra.embeddings_project.weight", "electra.encoder.layer.1.intermediate.dense.weight", "classifier.out_proj.weight")]
    [DataRow("deberta-v2", "deberta.encoder.layer.1.attention.self.pos_key_proj.weight", "deberta.encoder.rel_embeddings.weight", "pooler.dense.weight")]
    [DataRow("deberta-v2", "deberta.encoder.layer.0.attention.self.pos_query_proj.bias", "deberta.encoder.LayerNorm.weight", "classifier.weight")]
    public void ParametersHaveTheFamilysHuggingFaceNames(string modelType, string a, string b, string c)
    {
        using var model = new TextClassificationModel(TestCheckpoints.Config(modelType), 3);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.HasCount(names.Distinct().Count(), names, "no parameter is listed twice");
        Assert.AreEqual(model.parameters().Count(), model.parameters().Select(p => p.Handle).Distinct().Count());
        foreach (var expected in new[] { a, b, c })
        {
            CollectionAssert.Contains(names, expected, $"{modelType}: {string.Join(", ", names)}");
        }
    }

    [TestMethod]
    public void FamilySpecificShapesAndAbsentTables()
    {
        using var electra = new TextClassificationModel(TestCheckpoints.Config("electra"), 2);
        var e = electra.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        CollectionAssert.AreEqual(new long[] { 50, 16 }, e["electra.embeddings.word_embeddings.weight"]);
        CollectionAssert.AreEqual(new long[] { 32, 16 }, e["electra.embeddings_project.weight"]);
        Assert.IsFalse(e.Keys.Any(k => k.Contains("pooler", StringComparison.Ordinal)), "ELECTRA has no pooler");

        using var deberta = new TextClassificationModel(TestCheckpoints.Config("deberta-v2"), 2);
        var d = deberta.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        CollectionAssert.AreEqual(new long[] { 16, 32 }, d["deberta.encoder.rel_embeddings.weight"], "2 × position_buckets rows");
        Assert.IsFalse(d.ContainsKey("deberta.embeddings.position_embeddings.weight"), "position_biased_input false");
        Assert.IsFalse(d.ContainsKey("deberta.embeddings.token_type_embeddings.weight"), "type_vocab_size 0");

        using var shared = new TextClassificationModel(TestCheckpoints.Config("deberta-v2", shareAttKey: true), 2);
        Assert.IsFalse(shared.named_parameters().Any(p => p.name.Contains("pos_key_proj", StringComparison.Ordinal)), "share_att_key uses key_proj");

        using var distil = new TextClassificationModel(TestCheckpoints.Config("distilbert"), 2);
        Assert.IsFalse(distil.named_parameters().Any(p => p.name.Contains("token_type", StringComparison.Ordinal)), "DistilBERT has no token types");
        Assert.AreEqual(32, distil.Encoder.Config.HiddenSize, "dim is read as hidden_size");
        Assert.AreEqual(64, distil.Encoder.Config.IntermediateSize, "hidden_dim is read as intermediate_size");
    }

    [TestMethod]
    [DataRow("bert", "F32")]
    [DataRow("roberta", "F16")]
    [DataRow("xlm-roberta", "BF16")]
    [DataRow("distilbert", "F16")]
    [DataRow("electra", "BF16")]
    [DataRow("deberta-v2", "F32")]
    [DataRow("deberta-v2", "BF16")]
    public void ClassifierCheckpointLoadsInEveryDtype(string modelType, string dtype)
    {
        var config = TestCheckpoints.Config(modelType);
        manual_seed(1);
        using var source = new TextClassificationModel(config, 3);
        var folder = TestCheckpoints.WriteFolder(config, source.state_dict(), dtype);
        manual_seed(2);
        using var loaded = new TextClassificationModel(config, 3);
        var report = CheckpointLoader.LoadClassifier(loaded, folder);
        Assert.IsEmpty(report.Missing, string.Join(", ", report.Missing));
        Assert.IsEmpty(report.Unexpected, string.Join(", ", report.Unexpected));
        var type = dtype switch { "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16, _ => ScalarType.Float32 };
        var expected = source.state_dict();
        foreach (var (name, value) in loaded.state_dict())
        {
            using var rounded = expected[name].to(type).to(ScalarType.Float32);
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(rounded, value), $"{modelType} {dtype}: {name}");
        }
    }

    [TestMethod]
    [DataRow("bert")]
    [DataRow("camembert")]
    [DataRow("distilbert")]
    [DataRow("electra")]
    [DataRow("deberta-v2")]
    public void BareBaseModelKeysWithoutPrefixLoad(string modelType)
    {
        var config = TestCheckpoints.Config(modelType);
        manual_seed(3);
        using var source = TransformerEncoder.Create(config);
        var folder = TestCheckpoints.WriteFolder(config, source.state_dict()); // keys like "embeddings.word_embeddings.weight"
        Assert.IsTrue(source.state_dict().Keys.All(k => !k.StartsWith(config.EncoderPrefix + ".", StringComparison.Ordinal)));
        var (encoder, report) = CheckpointLoader.LoadEncoder(folder);
        using (encoder)
        {
            Assert.IsEmpty(report.Missing);
            Assert.IsEmpty(report.Unexpected);
            var (ids, mask) = TestCheckpoints.PaddedBatch(config.PadTokenId);
            using var noGrad = no_grad();
            source.eval();
            encoder.eval();
            using var expected = source.Forward(ids, mask);
            using var actual = encoder.Forward(ids, mask);
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(expected, actual), modelType);
        }
    }

    [TestMethod]
    [DataRow("F32")]
    [DataRow("BF16")]
    public void LoadingStreamsTensorsWithoutAManagedCopyOfTheFile(string dtype)
    {
        // 20 000 × 64 word embeddings alone are 5.1 MB in F32: a loader that reads the file (or a tensor) into a managed
        // buffer allocates at least that much.
        var config = TransformerConfig.FromJson("""{"model_type": "bert", "vocab_size": 20000, "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 64}""");
        using var source = new TextClassificationModel(config, 2);
        var folder = TestCheckpoints.WriteFolder(config, source.state_dict(), dtype);
        long fileBytes = new FileInfo(Path.Combine(folder, "model.safetensors")).Length;
        using var loaded = new TextClassificationModel(config, 2);
        CheckpointLoader.LoadClassifier(loaded, folder); // warm-up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        CheckpointLoader.LoadClassifier(loaded, folder);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"{dtype}: {allocated} managed bytes allocated to load {fileBytes} bytes");
        Assert.IsLessThan(fileBytes / 10, allocated, $"{dtype}: {allocated} bytes allocated for a {fileBytes}-byte file");
    }

    [TestMethod]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("bert-sharded-tiny")]
    public void EncoderOnItsOwnLoadsEveryFamilyWithItsTokenizer(string name)
    {
        using var encoder = TransformerTextEncoder.FromPretrained(EncoderParityTests.Checkpoint(name));
        Assert.AreEqual(CheckpointLoader.ReadConfig(EncoderParityTests.Checkpoint(name)).ModelType, encoder.Encoder.Config.ModelType);
        using var batch = encoder.Tokenize(new[] { "hello world", "a much longer second text that gets padded less" });
        using var hidden = encoder.Encode(batch);
        CollectionAssert.AreEqual(new[] { 2L, batch.InputIds.shape[1], 32L }, hidden.shape);
        Assert.IsTrue(hidden.isfinite().all().item<bool>(), name);
        Assert.IsEmpty(encoder.LoadReport!.Missing, encoder.LoadReport.ToString());
    }

    [TestMethod]
    public void UnsupportedModelTypeNamesItselfAndTheSupportedList()
    {
        var folder = TestCheckpoints.NewFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type": "gpt2", "vocab_size": 50}""");
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => CheckpointLoader.ReadConfig(folder));
        StringAssert.Contains(ex.Message, "'gpt2'");
        StringAssert.Contains(ex.Message, "config.json");
        foreach (var supported in new[] { "bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "deberta-v2" })
        {
            StringAssert.Contains(ex.Message, supported);
        }
    }

    [TestMethod]
    public void DebertaPosAttTypeReadsListOrString()
    {
        var list = TransformerConfig.FromJson("""{"model_type": "deberta-v2", "hidden_size": 32, "num_attention_heads": 4, "pos_att_type": ["p2c", "c2p"]}""");
        var text = TransformerConfig.FromJson("""{"model_type": "deberta-v2", "hidden_size": 32, "num_attention_heads": 4, "pos_att_type": "p2c|c2p"}""");
        CollectionAssert.AreEquivalent(new[] { "c2p", "p2c" }, list.PosAttType);
        CollectionAssert.AreEquivalent(new[] { "c2p", "p2c" }, text.PosAttType);
        Assert.AreEqual(1e-7, list.LayerNormEps, "DebertaV2Config's default eps");
        Assert.AreEqual(0, list.TypeVocabSize, "DebertaV2Config's default type_vocab_size");
        var bad = Assert.ThrowsExactly<FormatException>(() => TransformerConfig.FromJson("""{"model_type": "deberta-v2", "hidden_size": 32, "num_attention_heads": 4, "pos_att_type": "c2c"}""", "cfg"));
        StringAssert.Contains(bad.Message, "pos_att_type");
    }
}
