using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Tests.Trainers;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.OnnxExport;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Tests.Onnx;

/// <summary>A trained model exported for ONNX Runtime scores like the TorchSharp model in ML.NET: Transform,
/// PredictionEngine, Model.Save/Load; damaged exports are refused naming the file.</summary>
[TestClass]
public sealed class OnnxScoringTests
{
    private static string? _folder;

    /// <summary>The trained GWT transformer of <see cref="TrainerBehaviourTests.Trained"/>.</summary>
    internal static GwtTextClassificationTransformer Trained(out MLContext ml, out IDataView test)
    {
        var (m, chain, t) = TrainerBehaviourTests.Trained();
        ml = m;
        test = t;
        return ((IEnumerable<ITransformer>)chain).OfType<GwtTextClassificationTransformer>().Single();
    }

    /// <summary>That model exported for ONNX scoring (once per run).</summary>
    internal static string ExportedFolder()
    {
        if (_folder is null)
        {
            var folder = Path.Combine(TestCheckpoints.NewFolder(), "exported");
            Trained(out _, out _).ExportForOnnxScoring(folder);
            _folder = folder;
        }
        return _folder;
    }

    private static float[][] Scores(ITransformer model, IDataView data) => model.Transform(data).GetColumn<float[]>("Score").ToArray();

    private static double MaxDiff(float[][] a, float[][] b)
    {
        Assert.HasCount(a.Length, b);
        return a.Zip(b, (x, y) => x.Zip(y, (p, q) => (double)Math.Abs(p - q)).Max()).Max();
    }

    [TestMethod]
    public void TransformGivesTorchSharpsProbabilitiesAndLabels()
    {
        var torchModel = Trained(out var ml, out var test);
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, ExportedFolder());
        var expected = Scores(torchModel, test);
        var actual = Scores(onnx, test);
        double diff = MaxDiff(expected, actual);
        Console.WriteLine($"max |TorchSharp - ONNX Runtime| over {expected.Length} rows: {diff:E2}");
        Assert.IsLessThan(1e-4, diff);
        var torchLabels = torchModel.Transform(test).GetColumn<uint>("PredictedLabel").ToArray();
        var onnxLabels = onnx.Transform(test).GetColumn<uint>("PredictedLabel").ToArray();
        CollectionAssert.AreEqual(torchLabels, onnxLabels);
        CollectionAssert.AreEqual(torchModel.LabelNames!.ToArray(), onnx.LabelNames!.ToArray());
        // The same schema: key values and slot names travel with the export.
        var schema = onnx.GetOutputSchema(test.Schema);
        VBuffer<ReadOnlyMemory<char>> slots = default;
        schema["Score"].GetSlotNames(ref slots);
        CollectionAssert.AreEqual(torchModel.LabelNames!.ToArray(), slots.DenseValues().Select(s => s.ToString()).ToArray());
    }

    [TestMethod]
    public void PredictionEngineAndMapKeyToValueWork()
    {
        var torchModel = Trained(out var ml, out var test);
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, ExportedFolder());
        var pipeline = onnx.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(onnx.Transform(test)));
        var engine = ml.Model.CreatePredictionEngine<Email, Prediction>(pipeline);
        var rows = ml.Data.CreateEnumerable<Email>(test, reuseRowObject: false).Take(5).ToList();
        var batch = torchModel.Predict(rows.Select(r => (string?)r.Text).ToList());
        for (int i = 0; i < rows.Count; i++)
        {
            var p = engine.Predict(rows[i]);
            Assert.IsLessThan(1e-4, p.Score.Zip(batch[i], (a, b) => (double)Math.Abs(a - b)).Max());
            Assert.AreEqual(torchModel.LabelNames![Array.IndexOf(batch[i], batch[i].Max())], p.PredictedLabel);
        }
    }

    [TestMethod]
    public void ModelSaveAndLoadInAFreshContextGiveIdenticalScores()
    {
        Trained(out var ml, out var test);
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, ExportedFolder());
        var path = Path.Combine(TestCheckpoints.NewFolder(), "onnx-model.zip");
        ml.Model.Save(onnx, test.Schema, path);
        var loaded = new MLContext(seed: 3).Model.Load(path, out var schema);
        Assert.IsInstanceOfType<GwtOnnxTextClassificationTransformer>(loaded);
        Assert.IsNotNull(schema.GetColumnOrNull("Text"));
        Assert.AreEqual(0.0, MaxDiff(Scores(onnx, test), Scores(loaded, test)));
    }

    [TestMethod]
    [DataRow(OnnxScoringFolder.GraphFile)]
    [DataRow(OnnxScoringFolder.TokenizerFile)]
    [DataRow(OnnxScoringFolder.LabelsFile)]
    public void ADamagedFileIsRefusedNamingIt(string file)
    {
        var copy = Path.Combine(TestCheckpoints.NewFolder(), "damaged");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(ExportedFolder()))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        var bytes = File.ReadAllBytes(Path.Combine(copy, file));
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(Path.Combine(copy, file), bytes);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => GwtOnnxTextClassificationTransformer.Load(new MLContext(), copy));
        StringAssert.Contains(ex.Message, file);
        StringAssert.Contains(ex.Message, "SHA-256");
    }

    [TestMethod]
    public void AFolderWithoutItsManifestIsRefusedNamingIt()
    {
        var empty = TestCheckpoints.NewFolder();
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => GwtOnnxTextClassificationTransformer.Load(new MLContext(), empty));
        StringAssert.Contains(ex.Message, OnnxScoringFolder.ManifestFile);
        StringAssert.Contains(ex.Message, empty);
    }

    [TestMethod]
    public void AMissingTextColumnIsNamed()
    {
        var ml = new MLContext();
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, ExportedFolder());
        var data = ml.Data.LoadFromEnumerable(new[] { new { Body = "x" } });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => onnx.Transform(data));
        StringAssert.Contains(ex.Message, "Text");
    }
}

/// <summary>Dynamic int8 export: ONNX Runtime's quantized form for every linear layer inside the encoder layers, and
/// close to float32 on a trained model.</summary>
[TestClass]
public sealed class OnnxQuantizationTests
{
    [TestMethod]
    public void Int8ExportQuantizesEveryEncoderLinearAndKeepsThePredictions()
    {
        var torchModel = OnnxScoringTests.Trained(out var ml, out var test);
        var folder = Path.Combine(TestCheckpoints.NewFolder(), "int8");
        torchModel.ExportForOnnxScoring(folder, GwtOnnxQuantization.DynamicInt8);
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "model.onnx"))).Graph;
        int layers = torchModel.Config.NumHiddenLayers;
        Assert.AreEqual(6 * layers, graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.AreEqual(6 * layers, graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        Assert.AreEqual(6 * layers, graph.Initializer.Count(t => t.DataType == (int)global::Onnx.TensorProto.Types.DataType.Int8));
        Assert.IsFalse(graph.Initializer.Any(t => t.Name.Contains("encoder.layer.", StringComparison.Ordinal) && t.Name.EndsWith(".weight^T", StringComparison.Ordinal)),
            "a float copy of a quantized weight is left in the graph");

        using var int8 = GwtOnnxTextClassificationTransformer.Load(ml, folder);
        var expected = torchModel.Transform(test).GetColumn<float[]>("Score").ToArray();
        var actual = int8.Transform(test).GetColumn<float[]>("Score").ToArray();
        double diff = expected.Zip(actual, (x, y) => x.Zip(y, (p, q) => (double)Math.Abs(p - q)).Max()).Max();
        int agree = expected.Zip(actual).Count(p => Array.IndexOf(p.First, p.First.Max()) == Array.IndexOf(p.Second, p.Second.Max()));
        Console.WriteLine($"int8: max |float32 TorchSharp - int8 ONNX Runtime| {diff:E2}; labels agree on {agree}/{expected.Length}");
        Assert.IsLessThan(0.05, diff);
        Assert.IsGreaterThanOrEqualTo(expected.Length - 1, agree);
    }
}
