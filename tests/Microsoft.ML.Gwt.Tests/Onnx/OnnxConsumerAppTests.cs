using System.Globalization;
using Microsoft.ML.Gwt.Tests.Packaging;

namespace Microsoft.ML.Gwt.Tests.Onnx;

/// <summary>A serving app built separately from this repository that references only the Microsoft.ML.Gwt.Onnx package
/// (no Microsoft.ML.Gwt, no TorchSharp) scores a model this test process exported, with ML.NET's Transform,
/// PredictionEngine and Model.Save/Load, and never loads libtorch or a TorchSharp assembly.</summary>
[TestClass]
public sealed class OnnxConsumerAppTests
{
    private static readonly string[] Texts = { "FREE money, click now to claim your prize", "Minutes of the meeting on Tuesday are attached." };

    private const string Program = """
        using System.Globalization;
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using Microsoft.ML.Gwt.Onnx;

        var ml = new MLContext();
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, args[0]);
        var rows = args.Skip(1).Select(t => new Row { Text = t }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var scores = onnx.Transform(data).GetColumn<float[]>("Score").ToArray();
        foreach (var s in scores)
            Console.WriteLine("score=" + string.Join(";", s.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));

        var path = Path.Combine(Path.GetTempPath(), $"gwt-onnx-{Guid.NewGuid():N}.zip");
        ml.Model.Save(onnx, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        File.Delete(path);
        var again = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
        Console.WriteLine("reloaded-equal=" + scores.Zip(again).All(p => p.First.SequenceEqual(p.Second)));
        var engine = ml.Model.CreatePredictionEngine<Row, Pred>(loaded);
        Console.WriteLine("engine-equal=" + engine.Predict(rows[0]).Score.SequenceEqual(scores[0]));

        var maps = File.ReadAllText("/proc/self/maps");
        Console.WriteLine("onnxruntime-mapped=" + maps.Contains("libonnxruntime"));
        Console.WriteLine("libtorch-mapped=" + (maps.Contains("libtorch") || maps.Contains("LibTorchSharp")));
        Console.WriteLine("torchsharp-assemblies=" + AppDomain.CurrentDomain.GetAssemblies().Count(a => a.GetName().Name!.Contains("TorchSharp")));
        Console.WriteLine("torch-files-in-output=" + Directory.GetFiles(AppContext.BaseDirectory, "*orch*", SearchOption.AllDirectories).Length);

        sealed class Row { public string Text { get; set; } = ""; }
        sealed class Pred { public float[] Score { get; set; } = Array.Empty<float>(); }
        """;

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)] // dotnet pack, dotnet build of the app, the app
    public void AnAppWithOnlyTheScoringPackageScoresAnExportedModelWithoutTorchSharp()
    {
        var folder = OnnxScoringTests.ExportedFolder();
        var expected = OnnxScoringTests.Trained(out _, out _).Predict(Texts);
        var app = PackedLibrary.BuildConsumerApp("gwt-onnx-consumer-", """
            <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
            <SelfContained>false</SelfContained>
            """, $"""<PackageReference Include="{PackedLibrary.OnnxPackageId}" Version="{PackedLibrary.Version}" />""", Program);
        try
        {
            var dll = Path.Combine("bin", "Release", "net10.0", "linux-x64", "app.dll");
            var run = PackedLibrary.Run("dotnet", $"{dll} \"{folder}\" " + string.Join(" ", Texts.Select(t => $"\"{t}\"")), app);
            Assert.AreEqual(0, run.Code, run.Output);
            var scores = run.Output.Split('\n').Where(l => l.StartsWith("score=", StringComparison.Ordinal))
                .Select(l => l["score=".Length..].Trim().Split(';').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.HasCount(Texts.Length, scores, run.Output);
            for (int i = 0; i < Texts.Length; i++)
            {
                Assert.IsLessThan(1e-4, scores[i].Zip(expected[i], (a, b) => (double)Math.Abs(a - b)).Max(), run.Output);
            }
            StringAssert.Contains(run.Output, "reloaded-equal=True");
            StringAssert.Contains(run.Output, "engine-equal=True");
            StringAssert.Contains(run.Output, "onnxruntime-mapped=True");
            StringAssert.Contains(run.Output, "libtorch-mapped=False");
            StringAssert.Contains(run.Output, "torchsharp-assemblies=0");
            StringAssert.Contains(run.Output, "torch-files-in-output=0");
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }
}
