using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Pretraining;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

[TestClass]
public sealed class MaskedLanguageModelTests
{
    internal static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "pretraining", name);

    /// <summary>The committed list (make_mlm_reference.py, from Hugging Face's class definitions and save_pretrained's
    /// tied-weight removal): our parameters, and the tensors of the folder we write, are exactly those names and shapes.</summary>
    [TestMethod]
    [DataRow("bert")]
    [DataRow("roberta")]
    public void KeysAndShapesAreThoseHuggingFaceSaves(string type)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Data("mlm_keys.json")));
        var c = doc.RootElement.GetProperty("config");
        var f = doc.RootElement.GetProperty(type);
        var config = new TransformerConfig
        {
            ModelType = type, VocabSize = c.GetProperty("vocab_size").GetInt32(), HiddenSize = c.GetProperty("hidden_size").GetInt32(),
            NumHiddenLayers = c.GetProperty("num_hidden_layers").GetInt32(), NumAttentionHeads = c.GetProperty("num_attention_heads").GetInt32(),
            IntermediateSize = c.GetProperty("intermediate_size").GetInt32(), MaxPositionEmbeddings = f.GetProperty("max_position_embeddings").GetInt32(),
            TypeVocabSize = f.GetProperty("type_vocab_size").GetInt32(), PadTokenId = f.GetProperty("pad_token_id").GetInt32(),
        };
        var expected = f.GetProperty("keys").EnumerateArray()
            .Select(k => $"{k[0].GetString()} [{string.Join(",", k[1].EnumerateArray().Select(d => d.GetInt64()))}]").Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(30, expected.Count);

        using var model = new MaskedLanguageModel(config);
        var ours = model.state_dict().Select(kv => $"{kv.Key} [{string.Join(",", kv.Value.shape)}]").Order(StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(expected, ours, "state_dict:\n" + string.Join("\n", ours.Except(expected).Concat(expected.Except(ours).Select(e => "missing " + e))));

        var folder = Path.Combine(Path.GetTempPath(), "gwt-keys-" + Guid.NewGuid().ToString("N"));
        try
        {
            var tokenizer = new Microsoft.ML.Gwt.Core.Tokenization.WordPieceTextTokenizer(string.Join("\n", new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a" }) + "\n");
            HuggingFaceFolder.Write(folder, model, tokenizer, null, 32);
            var saved = SafeTensors.ReadHeader(Path.Combine(folder, "model.safetensors"))
                .Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal).ToList();
            CollectionAssert.AreEqual(expected, saved, "model.safetensors");
            using var configDoc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            Assert.AreEqual(type == "bert" ? "BertForMaskedLM" : "RobertaForMaskedLM", configDoc.RootElement.GetProperty("architectures")[0].GetString());
            Assert.AreEqual(type, configDoc.RootElement.GetProperty("model_type").GetString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Logits of a checkpoint with an MLM head against an independent functional PyTorch forward pass
    /// (make_mlm_reference.py): BERT's head uses hidden_act (here gelu_new), RoBERTa's the erf GELU whatever hidden_act is.</summary>
    [TestMethod]
    [DataRow("bert-mlm-tiny")]
    [DataRow("roberta-mlm-tiny")]
    public void LogitsMatchReference(string name)
    {
        var folder = Data(name);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new MaskedLanguageModel(config);
        var report = CheckpointLoader.LoadFile(model, CheckpointLoader.WeightsPath(folder), config.EncoderPrefix);
        Assert.IsEmpty(report.Missing, string.Join(", ", report.Missing));
        Assert.IsEmpty(report.Unexpected, string.Join(", ", report.Unexpected));
        model.eval();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var shape = doc.RootElement.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        long[] Read2D(string prop) => doc.RootElement.GetProperty(prop).EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt64())).ToArray();
        using var ids = tensor(Read2D("input_ids"), new[] { shape[0], shape[1] });
        using var mask = tensor(Read2D("attention_mask"), new[] { shape[0], shape[1] });
        using var types = tensor(Read2D("token_type_ids"), new[] { shape[0], shape[1] });
        var expected = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        using var noGrad = no_grad();
        using var logits = model.Forward(ids, mask, types);
        CollectionAssert.AreEqual(shape, logits.shape);
        var actual = logits.data<float>().ToArray();
        // Padded positions' logits are compared too: Hugging Face computes them like any other.
        double maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Console.WriteLine($"{name}: max |reference - ours| = {maxDiff:E3}");
        Assert.IsLessThan(1e-4, maxDiff);
    }

    [TestMethod]
    public void LossOnMaskedPositionsEqualsFullCrossEntropyWithIgnoreIndex()
    {
        var config = TransformerConfig.Tiny(50);
        config.MaxPositionEmbeddings = 16;
        manual_seed(3);
        using var model = new MaskedLanguageModel(config);
        model.eval();
        using var ids = randint(5, 50, new long[] { 3, 10 });
        using var mask = ones(3, 10, ScalarType.Int64);
        var labelValues = Enumerable.Range(0, 30).Select(i => i % 4 == 1 ? (long)(i % 45 + 5) : -100L).ToArray();
        using var labels = tensor(labelValues, new long[] { 3, 10 });
        using var noGrad = no_grad();
        using var loss = model.Loss(ids, mask, labels);
        using var logits = model.Forward(ids, mask);
        using var full = nn.functional.cross_entropy(logits.reshape(-1, 50), labels.reshape(-1), ignore_index: -100);
        Assert.AreEqual(full.item<float>(), loss.item<float>(), 1e-5);
    }

    [TestMethod]
    public void OtherFamiliesAreRefusedByName()
    {
        var config = TransformerConfig.Tiny(50);
        config.ModelType = "distilbert";
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => new MaskedLanguageModel(config));
        StringAssert.Contains(ex.Message, "distilbert");
    }
}
