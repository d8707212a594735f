using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.OnnxExport;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>The question-answering graph (output <c>span_logits</c> [batch, sequence, 2]) for every family, and
/// TorchSharp-free scoring with <see cref="GwtOnnxQuestionAnswerTransformer"/>.</summary>
[TestClass]
public sealed class QuestionAnswerOnnxTests
{
    [TestMethod]
    [DataRow("bert-qa-tiny")]
    [DataRow("xlm-roberta-qa-tiny")]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("roberta-tiny")]
    public void OnnxRuntimeGivesTorchSharpsSpanLogitsForEveryFamily(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 2, TextHeadKind.QuestionAnswering);
        CheckpointLoader.LoadClassifier(model, folder); // a checkpoint without qa_outputs keeps the head's initialization
        model.eval();
        var rows = new long[][] { new long[] { 2, 7, 9, 11, 3, 12, 13, 3 }, new long[] { 2, 8, 3, 14, 3, 0, 0, 0 } };
        long pad = config.PadTokenId;
        var ids = rows.SelectMany(r => r.Select((v, i) => i < 5 || r[i] != 0 ? Math.Min(v, config.VocabSize - 1) : pad)).ToArray();
        var mask = rows.SelectMany(r => r.Select((v, i) => i < 5 || r[i] != 0 ? 1L : 0L)).ToArray();
        var types = rows.SelectMany(r => r.Select((v, i) => i >= 3 && config.TypeVocabSize > 1 && r[i] != 0 ? 1L : 0L)).ToArray();
        float[] torchLogits;
        using (no_grad())
        using (var ti = tensor(ids, new long[] { 2, 8 }))
        using (var tm = tensor(mask, new long[] { 2, 8 }))
        using (var tt = tensor(types, new long[] { 2, 8 }))
        using (var logits = model.Forward(ti, tm, tt))
        {
            torchLogits = logits.data<float>().ToArray();
        }
        using var session = new InferenceSession(OnnxModelExporter.ToBytes(model));
        Assert.AreEqual("span_logits", session.OutputMetadata.Keys.Single());
        CollectionAssert.AreEqual(new[] { -1, -1, 2 }, session.OutputMetadata["span_logits"].Dimensions);
        int[] dims = { 2, 8 };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
        };
        if (session.InputMetadata.ContainsKey("token_type_ids"))
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)));
        }
        using var results = session.Run(inputs);
        var onnx = results[0].AsTensor<float>().ToArray();
        Assert.HasCount(2 * 8 * 2, onnx);
        // Real positions only: padding's logits are not used.
        for (int i = 0; i < onnx.Length; i++)
        {
            if (mask[i / 2] == 1)
            {
                Assert.AreEqual(torchLogits[i], onnx[i], 1e-4f, $"{name} value {i}");
            }
        }
    }

    [TestMethod]
    public void TheExportedFolderAnswersWithoutTorchSharpAsTheTrainedModelDoes()
    {
        var (model, test) = QuestionAnswerTrainerTests.TrainedModel();
        var ml = new MLContext(1);
        var folder = Directory.CreateTempSubdirectory("gwt-qa-onnx-").FullName;
        var file = Path.Combine(folder, "onnx-model.zip");
        try
        {
            model.ExportForOnnxScoring(folder);
            using var onnx = GwtOnnxQuestionAnswerTransformer.Load(ml, folder);
            Assert.AreEqual(model.Settings, onnx.Settings);
            foreach (var row in test)
            {
                var expected = model.Predict(row.Context, row.Question);
                var actual = onnx.Predict(row.Context, row.Question);
                CollectionAssert.AreEqual(expected.Select(a => (a.Text, a.Start)).ToArray(), actual.Select(a => (a.Text, a.Start)).ToArray(), row.Question);
                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.AreEqual(expected[i].Score, actual[i].Score, 1e-4f);
                }
            }
            ml.Model.Save(onnx, ml.Data.LoadFromEnumerable(test).Schema, file);
            using var loaded = (GwtOnnxQuestionAnswerTransformer)ml.Model.Load(file, out _);
            CollectionAssert.AreEqual(onnx.Predict(test[0].Context, test[0].Question), loaded.Predict(test[0].Context, test[0].Question));

            var wrong = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxSentenceSimilarityTransformer.Load(ml, folder));
            StringAssert.Contains(wrong.Message, "GwtOnnxQuestionAnswerTransformer.Load");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
