using Microsoft.ML.Gwt.Tests.Packaging;

namespace Microsoft.ML.Gwt.Tests.Native;

/// <summary>A user's own console app that references only our package and TorchSharp-cpu, built separately from this
/// repository, runs on stock Debian 12 and loads a saved GWT model in a new MLContext with no registration call.</summary>
[TestClass]
public sealed class ConsumerAppTests
{
    private const string RowType = """
        sealed class Row { public string Label { get; set; } = ""; public string Text { get; set; } = ""; }
        """;

    private const string LoadAndScore = """
        // A new process, a new MLContext, no registration call: load a GWT model saved elsewhere and score.
        var ml = new MLContext();
        var model = ml.Model.Load(args[0], out _);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Label = "spam", Text = "FREE money, click now" } });
        var score = model.Transform(data).GetColumn<float[]>("Score").First();
        Console.WriteLine($"classes={score.Length} total={score.Sum():F3}");
        """;

    private static string? _modelPath;

    /// <summary>A small trained model saved to a temporary file (once).</summary>
    private static string SavedModel()
    {
        if (_modelPath is null)
        {
            var (ml, trained, test) = Trainers.TrainerBehaviourTests.Trained();
            var path = Path.Combine(Directory.CreateTempSubdirectory("gwt-model-").FullName, "model.zip");
            ml.Model.Save(trained, test.Schema, path);
            _modelPath = path;
        }
        return _modelPath;
    }

    /// <summary>Builds a console app that references the packed library, with extra MSBuild properties, and runs it with
    /// the saved model's path.</summary>
    private static (int Code, string Output) BuildAndRun(string properties, string program)
    {
        var modelPath = SavedModel();
        var app = PackedLibrary.BuildConsumerApp("gwt-consumer-", properties, $"""
            <PackageReference Include="Microsoft.ML.Gwt" Version="{PackedLibrary.Version}" />
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
            """, program);
        try
        {
            // A training app gets no ONNX Runtime: neither its managed assembly nor its native libraries.
            var onnxRuntimeFiles = Directory.GetFiles(Path.Combine(app, "bin"), "*nnx*untime*", SearchOption.AllDirectories);
            Assert.IsEmpty(onnxRuntimeFiles, string.Join(", ", onnxRuntimeFiles));
            return PackedLibrary.Run("dotnet", $"{Path.Combine("bin", "Release", "net10.0", "app.dll")} \"{modelPath}\"", app);
        }
        finally
        {
            // Each built app is over 1 GB (TorchSharp's native libraries): leaving them filled the shared disk.
            Directory.Delete(app, recursive: true);
        }
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    public void PackageConsumerCallingTorchSharpDirectlyRuns()
    {
        var run = BuildAndRun("", $$"""
            using Microsoft.ML;
            using Microsoft.ML.Data;
            using TorchSharp;
            using var t = torch.ones(3) * 2;
            Console.WriteLine($"sum={t.sum().item<float>()}");
            {{LoadAndScore}}
            {{RowType}}
            """);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "sum=6");
        StringAssert.Contains(run.Output, "classes=2 total=1.000");
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    public void WithTheNativeBootstrapOffModelsStillLoadWithoutRegistration()
    {
        // The app opts out of the native-fix bootstrap only; it touches no Microsoft.ML.Gwt type before Model.Load.
        var run = BuildAndRun("<GwtTorchSharpBootstrap>false</GwtTorchSharpBootstrap>", $"""
            using Microsoft.ML;
            using Microsoft.ML.Data;
            {LoadAndScore}
            {RowType}
            """);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "classes=2 total=1.000");
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    public void WithTheLoaderBootstrapOffGwtModelLoaderRegisterIsTheEntryPoint()
    {
        // Opting out of the loader bootstrap: loading fails until the app calls the public entry point.
        var run = BuildAndRun("<GwtModelLoaderBootstrap>false</GwtModelLoaderBootstrap><GwtTorchSharpBootstrap>false</GwtTorchSharpBootstrap>", $$"""
            using Microsoft.ML;
            using Microsoft.ML.Data;
            try
            {
                new MLContext().Model.Load(args[0], out _);
                Console.WriteLine("loaded before Register");
            }
            catch (Exception ex)
            {
                Console.WriteLine("before Register: " + ex.GetType().Name);
            }
            Register();
            {{LoadAndScore}}

            // In its own method: Main's code must not name a Microsoft.ML.Gwt type, or compiling Main loads our assembly
            // (and its initializer registers the loader) before the first Load.
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
            static void Register()
            {
                Microsoft.ML.Gwt.GwtModelLoader.Register();
                Console.WriteLine($"registered={Microsoft.ML.Gwt.GwtModelLoader.IsRegistered}");
            }
            {{RowType}}
            """);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "before Register: ");
        Assert.IsFalse(run.Output.Contains("loaded before Register"), run.Output);
        StringAssert.Contains(run.Output, "registered=True");
        StringAssert.Contains(run.Output, "classes=2 total=1.000");
    }
}
