using Microsoft.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.OnnxExport;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>The sentence-similarity graph (output <c>score</c> [batch]) for every family, and TorchSharp-free scoring with
/// <see cref="GwtOnnxSentenceSimilarityTransformer"/>.</summary>
[TestClass]
public sealed class SentenceSimilarityOnnxTests
{
    private static GwtSentenceSimilarityTransformer? _model;
    private static MLContext _ml = null!;
    private static IDataView _test = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _ml = new MLContext(seed: 1);
        _test = _ml.Data.LoadFromEnumerable(ShapesStsData.Take("test", 40));
        _model = _ml.Regression.Trainers.GwtSentenceSimilarity(SentenceSimilarityTrainerTests.Fast(epochs: 1))
            .Fit(_ml.Data.LoadFromEnumerable(ShapesStsData.Take("train", 96)));
    }

    [ClassCleanup]
    public static void Cleanup() => _model?.Dispose();

    [TestMethod]
    [DataRow("bert-regression-tiny")]
    [DataRow("xlm-roberta-regression-tiny")]
    [DataRow("distilbert-regression-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("deberta-v2-tiny-conv")]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    public void OnnxRuntimeGivesTorchSharpsScoresForEveryFamily(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 1);
        CheckpointLoader.LoadClassifier(model, folder); // a classifier's or an encoder's checkpoint: the head keeps its initialization
        model.eval();
        var rows = new long[][] { new long[] { 2, 7, 9, 11, 3, 12, 13, 3 }, new long[] { 2, 8, 3, 14, 3, 0, 0, 0 } };
        long pad = config.PadTokenId;
        var ids = rows.SelectMany(r => r.Select((v, i) => i < 5 || r[i] != 0 ? Math.Min(v, config.VocabSize - 1) : pad)).ToArray();
        var mask = rows.SelectMany(r => r.Select((v, i) => i < 5 || r[i] != 0 ? 1L : 0L)).ToArray();
        var types = new long[ids.Length];

        float[] torchScores;
        using (no_grad())
        using (var ti = tensor(ids, new long[] { 2, 8 }))
        using (var tm = tensor(mask, new long[] { 2, 8 }))
        using (var tt = tensor(types, new long[] { 2, 8 }))
        using (var logits = model.Forward(ti, tm, tt))
        {
            torchScores = logits.squeeze(-1).data<float>().ToArray();
        }
        using var session = new InferenceSession(OnnxModelExporter.ToBytes(model));
        Assert.AreEqual("score", session.OutputMetadata.Keys.Single());
        CollectionAssert.AreEqual(new[] { -1 }, session.OutputMetadata["score"].Dimensions, "[batch], dynamic");
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
        Assert.HasCount(2, onnx);
        for (int i = 0; i < 2; i++)
        {
            Assert.AreEqual(torchScores[i], onnx[i], 1e-4f, $"{name} row {i}");
        }
    }

    [TestMethod]
    public void TheExportedFolderScoresWithoutTorchSharpAsTheTrainedModelDoes()
    {
        var folder = Directory.CreateTempSubdirectory("gwt-sts-onnx-").FullName;
        _model!.ExportForOnnxScoring(folder);
        using var onnx = GwtOnnxSentenceSimilarityTransformer.Load(_ml, folder);
        var expected = _model.Transform(_test).GetColumn<float>("Score").ToArray();
        var actual = onnx.Transform(_test).GetColumn<float>("Score").ToArray();
        Assert.HasCount(40, actual);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], actual[i], 1e-4f, $"row {i}");
        }
        var metrics = _ml.Regression.Evaluate(onnx.Transform(_test));
        Assert.IsTrue(double.IsFinite(metrics.MeanSquaredError));

        var engine = _ml.Model.CreatePredictionEngine<SentencePair, SimilarityPrediction>(onnx);
        Assert.AreEqual(expected[0], engine.Predict(ShapesStsData.Take("test", 1)[0]).Score, 1e-4f);

        // Model.Save / Load in a fresh context (the graph and tokenizer are inside the model file).
        using var stream = new MemoryStream();
        _ml.Model.Save(onnx, _test.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(3).Model.Load(stream, out _);
        Assert.IsInstanceOfType<GwtOnnxSentenceSimilarityTransformer>(loaded);
        CollectionAssert.AreEqual(actual, loaded.Transform(_test).GetColumn<float>("Score").ToArray());
        ((IDisposable)loaded).Dispose();
    }

    [TestMethod]
    public void AFolderOfTheOtherTaskOrADamagedFileIsRefusedNamingIt()
    {
        var folder = Directory.CreateTempSubdirectory("gwt-sts-onnx-").FullName;
        _model!.ExportForOnnxScoring(folder);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxTextClassificationTransformer.Load(_ml, folder));
        StringAssert.Contains(ex.Message, "GwtOnnxSentenceSimilarityTransformer.Load");

        var bytes = File.ReadAllBytes(Path.Combine(folder, OnnxScoringFolder.GraphFile));
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(Path.Combine(folder, OnnxScoringFolder.GraphFile), bytes);
        ex = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxSentenceSimilarityTransformer.Load(_ml, folder));
        StringAssert.Contains(ex.Message, OnnxScoringFolder.GraphFile);
    }

    [TestMethod]
    public void AClassifiersFolderIsRefusedByTheSentenceSimilarityLoader()
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 16).Select(i => new Trainers.Email { Label = i % 2 == 0 ? "a" : "b", Text = $"text {i % 2}" }).ToList();
        var options = Trainers.TrainerTests.Fast(GwtOptimizerKind.Gwt);
        options.MaxEpochs = 1;
        var data = ml.Data.LoadFromEnumerable(rows);
        using var classifier = (GwtTextClassificationTransformer)ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(options))
            .Fit(data).LastTransformer;
        var folder = Directory.CreateTempSubdirectory("gwt-cls-onnx-").FullName;
        classifier.ExportForOnnxScoring(folder);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxSentenceSimilarityTransformer.Load(ml, folder));
        StringAssert.Contains(ex.Message, "text classification");
        using var back = GwtOnnxTextClassificationTransformer.Load(ml, folder); // and the classifier's loader still reads it
        Assert.AreEqual(2, back.NumClasses);
    }
}
