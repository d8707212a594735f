using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.OnnxExport;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>The token-classification graph (output <c>logits</c> [batch, tokens, tags]) for every family, and
/// TorchSharp-free tagging with <see cref="GwtOnnxNamedEntityRecognitionTransformer"/>.</summary>
[TestClass]
public sealed class NamedEntityRecognitionOnnxTests
{
    private static GwtNamedEntityRecognitionTransformer? _model;
    private static MLContext _ml = null!;
    private static IDataView _test = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        var (ml, train, test) = SpamAssassinNerData.Keyed(96, 40);
        (_ml, _test) = (ml, test);
        _model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(NamedEntityRecognitionTrainerTests.Fast(epochs: 1)).Fit(train);
    }

    [ClassCleanup]
    public static void Cleanup() => _model?.Dispose();

    [TestMethod]
    [DataRow("bert-token-tiny")]
    [DataRow("xlm-roberta-token-tiny")]
    [DataRow("distilbert-token-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("roberta-tiny")]
    public void OnnxRuntimeGivesTorchSharpsTokenLogitsForEveryFamily(string name)
    {
        var folder = EncoderParityTests.Checkpoint(name);
        var config = CheckpointLoader.ReadConfig(folder);
        using var model = new TextClassificationModel(config, 5, TextHeadKind.TokenClassification);
        CheckpointLoader.LoadClassifier(model, folder);
        model.eval();
        long pad = config.PadTokenId;
        var ids = new long[] { 2, 7, 9, 11, 3, 12, 13, 3, 2, 8, 3, 14, 3, pad, pad, pad }.Select(v => Math.Min(v, config.VocabSize - 1)).ToArray();
        var mask = new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 };
        var types = new long[ids.Length];
        float[] torchLogits;
        using (no_grad())
        using (var ti = tensor(ids, new long[] { 2, 8 }))
        using (var tm = tensor(mask, new long[] { 2, 8 }))
        using (var tt = tensor(types, new long[] { 2, 8 }))
        using (var logits = model.Forward(ti, tm, tt))
        {
            CollectionAssert.AreEqual(new long[] { 2, 8, 5 }, logits.shape);
            torchLogits = logits.data<float>().ToArray();
        }
        using var session = new InferenceSession(OnnxModelExporter.ToBytes(model));
        Assert.AreEqual("logits", session.OutputMetadata.Keys.Single());
        CollectionAssert.AreEqual(new[] { -1, -1, 5 }, session.OutputMetadata["logits"].Dimensions, "[batch, tokens] dynamic");
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
        // Real positions only: padding positions' outputs are never read.
        double diff = Enumerable.Range(0, onnx.Length).Where(i => mask[i / 5] == 1).Max(i => (double)Math.Abs(onnx[i] - torchLogits[i]));
        Console.WriteLine($"{name}: max |ONNX Runtime - TorchSharp| {diff:E2}");
        Assert.IsLessThan(1e-4, diff, name);
    }

    private static uint[][] Keys(IDataView scored) =>
        scored.GetColumn<VBuffer<uint>>("PredictedLabel").Select(v => v.DenseValues().ToArray()).ToArray();

    [TestMethod]
    public void TheExportedFolderTagsAsTorchSharpDoesAndSavesAndLoads()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"ner-onnx-{Guid.NewGuid():N}");
        var path = folder + ".zip";
        try
        {
            _model!.ExportForOnnxScoring(folder);
            using var onnx = GwtOnnxNamedEntityRecognitionTransformer.Load(_ml, folder);
            var expected = Keys(_model.Transform(_test));
            var scored = onnx.Transform(_test);
            CollectionAssert.AreEqual(expected.SelectMany(k => k).ToArray(), Keys(scored).SelectMany(k => k).ToArray());
            Assert.AreEqual(_ml.MulticlassClassification.EvaluateNamedEntityRecognition(_model.Transform(_test)).F1,
                _ml.MulticlassClassification.EvaluateNamedEntityRecognition(scored).F1);
            CollectionAssert.AreEqual(_model.TagNames.ToArray(), onnx.TagNames.ToArray());

            _ml.Model.Save(onnx, _test.Schema, path);
            var loaded = _ml.Model.Load(path, out _);
            Assert.IsInstanceOfType<GwtOnnxNamedEntityRecognitionTransformer>(loaded);
            CollectionAssert.AreEqual(expected.SelectMany(k => k).ToArray(), Keys(loaded.Transform(_test)).SelectMany(k => k).ToArray());
            ((IDisposable)loaded).Dispose();

            var wrongLoader = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxTextClassificationTransformer.Load(_ml, folder));
            StringAssert.Contains(wrongLoader.Message, "GwtOnnxNamedEntityRecognitionTransformer.Load");
            File.WriteAllBytes(Path.Combine(folder, "labels.bin"), new byte[] { 1, 2, 3 });
            var damaged = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxNamedEntityRecognitionTransformer.Load(_ml, folder));
            StringAssert.Contains(damaged.Message, "labels.bin");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
            File.Delete(path);
        }
    }
}
