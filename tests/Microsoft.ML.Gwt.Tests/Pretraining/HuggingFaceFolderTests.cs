using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

[TestClass]
public sealed class HuggingFaceFolderTests
{
    private static readonly string[] Texts = Enumerable.Range(0, 60)
        .Select(i => i % 2 == 0 ? $"Cheap meds, buy now! Offer {i}" : $"Meeting notes for the project review, item {i}").ToArray();

    private sealed class Row
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
    }

    [TestMethod]
    public void FolderRoundTripsThroughTheEncoderLoaderAndPretrainedModelPath()
    {
        var parent = Path.Combine(Path.GetTempPath(), "gwt-hf-" + Guid.NewGuid().ToString("N"));
        var folder = Path.Combine(parent, "mlm");
        try
        {
            var tokenizer = WordPieceVocabularyFitter.Fit(Texts, 200);
            var config = TransformerConfig.Tiny(tokenizer.VocabSize);
            config.MaxPositionEmbeddings = 32;
            manual_seed(5);
            using var model = new MaskedLanguageModel(config);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "stale.txt"), "from an earlier run");
            HuggingFaceFolder.Write(folder, model, tokenizer, null, 32);

            CollectionAssert.AreEquivalent(
                new[] { "config.json", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt" },
                Directory.GetFiles(folder).Select(Path.GetFileName).ToArray(), "the folder is replaced whole");
            CollectionAssert.AreEqual(new[] { "mlm" }, Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).ToArray(), "no temporary folder is left");

            using (var encoder = TransformerTextEncoder.FromPretrained(folder))
            {
                // BertForMaskedLM has no pooler (add_pooling_layer=False); the bare encoder loader adds one.
                CollectionAssert.AreEqual(new[] { "bert.pooler.dense.weight", "bert.pooler.dense.bias" }, encoder.LoadReport!.Missing.ToArray());
                CollectionAssert.Contains(encoder.LoadReport.Unexpected.ToList(), "cls.predictions.bias");
                var ours = model.Encoder.state_dict();
                foreach (var (name, value) in encoder.Encoder.state_dict().Where(kv => !kv.Key.StartsWith("pooler.", StringComparison.Ordinal)))
                {
                    Assert.IsTrue(value.allclose(ours[name], 0, 0), name);
                }
                var text = "Cheap project meds, review now!";
                CollectionAssert.AreEqual(tokenizer.Encode(text, null, 32).Ids, encoder.Tokenizer.Encode(text, null, 32).Ids);
            }

            var ml = new MLContext(1);
            var messages = new List<string>();
            ml.Log += (_, e) => messages.Add(e.Message);
            var data = ml.Data.LoadFromEnumerable(Texts.Select((t, i) => new Row { Label = i % 2 == 0 ? "spam" : "ham", Text = t }));
            var trained = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(
                new GwtTextClassificationTrainer.Options { Sentence1ColumnName = "Text", PretrainedModelPath = folder, MaxEpochs = 1, BatchSize = 16, Seed = 1 }))
                .Fit(data);
            Assert.AreEqual(32, trained.LastTransformer.Options.MaxSequenceLength);
            Assert.IsTrue(messages.Any(m => m.Contains("Unused checkpoint tensors: cls.predictions.bias", StringComparison.Ordinal)), "the MLM head is reported unused");
        }
        finally
        {
            if (Directory.Exists(parent))
            {
                Directory.Delete(parent, recursive: true);
            }
        }
    }
}
