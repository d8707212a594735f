using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Tests.Packaging;

namespace Microsoft.ML.Gwt.Tests.Interop;

/// <summary>
/// Users' apps, built from the packed packages as a user builds them, on each ML.NET line: one on Microsoft.ML 5.0.1, one
/// on Microsoft.ML 6.0.0 with ML.NET's own Microsoft.ML.TorchSharp 0.24.0 beside ours. Each restores without a
/// dependency-constraint warning about our packages, trains, evaluates, saves, loads and predicts; the 6.0.0 app then
/// loads the model the 5.0.1 app saved (users upgrade ML.NET under saved models) and must predict identically.
/// </summary>
[TestClass]
public sealed class MlNetConsumerAppTests
{
    private static readonly string[] Texts = { "FREE money, click now to claim your prize", "Minutes of the meeting on Tuesday are attached." };

    private const string Program = """
        using System.Globalization;
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using Microsoft.ML.Gwt.Trainers;

        // args: <model to save> [<model to load> <texts...>]
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 48).Select(i => i % 2 == 0
            ? new Row { Label = "spam", Text = $"win free money now offer {i} click prize cash" }
            : new Row { Label = "ham", Text = $"meeting notes for project {i} attached see agenda" }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options
            {
                Sentence1ColumnName = "Text", MaxEpochs = 2, BatchSize = 8, MaxSequenceLength = 16, Seed = 3,
                Precision = GwtPrecision.Float32,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Console.WriteLine($"accuracy={metrics.MacroAccuracy.ToString("F3", CultureInfo.InvariantCulture)}");
        ml.Model.Save(model, data.Schema, args[0]);
        var reloaded = new MLContext().Model.Load(args[0], out _);
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(reloaded);
        Console.WriteLine($"predicted={engine.Predict(new Row { Text = "free money prize" }).PredictedLabel}");
        Console.WriteLine($"Microsoft.ML={typeof(MLContext).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false).Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0]}");
        EXTRA
        if (args.Length > 1)
        {
            var saved = new MLContext().Model.Load(args[1], out _);
            var texts = ml.Data.LoadFromEnumerable(args.Skip(2).Select(t => new Row { Text = t }));
            foreach (var s in saved.Transform(texts).GetColumn<float[]>("Score"))
                Console.WriteLine("score=" + string.Join(";", s.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        }

        sealed class Row { public string Label { get; set; } = ""; public string Text { get; set; } = ""; }
        sealed class Prediction { public string PredictedLabel { get; set; } = ""; }
        """;

    /// <summary>ML.NET's TorchSharp trainers in the same app: its catalog builds an estimator beside ours.</summary>
    private const string MlNetTorchSharp = """
        var theirs = Microsoft.ML.TorchSharp.TorchSharpCatalog.TextClassification(ml.MulticlassClassification.Trainers,labelColumnName: "Label", sentence1ColumnName: "Text");
        Console.WriteLine($"Microsoft.ML.TorchSharp estimator={theirs.GetType().Name}");
        """;

    private static (string Build, string Run) BuildAndRun(string packages, string extra, params string[] args)
    {
        string build = "";
        var app = PackedLibrary.BuildConsumerApp("gwt-mlnet-", "", $"""
            <PackageReference Include="Microsoft.ML.Gwt" Version="{PackedLibrary.Version}" />
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
            {packages}
            """, Program.Replace("EXTRA", extra), output => build = output);
        try
        {
            var run = PackedLibrary.Run("dotnet", Path.Combine("bin", "Release", "net10.0", "app.dll") + " " + string.Join(" ", args.Select(a => $"\"{a}\"")), app);
            Assert.AreEqual(0, run.Code, run.Output);
            return (build, run.Output);
        }
        finally
        {
            Directory.Delete(app, recursive: true); // over 1 GB each (TorchSharp's native libraries)
        }
    }

    /// <summary>NU1608 (outside a dependency's range), NU1605 (downgrade) and NU1107 (conflict) warnings that name one of our packages.</summary>
    private static string[] ConstraintWarnings(string buildOutput) => Regex.Matches(buildOutput, @"warning (NU1608|NU1605|NU1107):[^\n]*")
        .Select(m => m.Value).Where(w => w.Contains("Microsoft.ML.Gwt", StringComparison.Ordinal)).Distinct().ToArray();

    private static string[] Scores(string output) => output.Split('\n').Where(l => l.StartsWith("score=", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    public void AModelSavedOnMicrosoftMl501LoadsAndPredictsIdenticallyOn600BesideMicrosoftMlTorchSharp()
    {
        var folder = Directory.CreateTempSubdirectory("gwt-mlnet-models-").FullName;
        try
        {
            var old = Path.Combine(folder, "saved-on-5.0.1.zip");
            var (build5, run5) = BuildAndRun("""<PackageReference Include="Microsoft.ML" Version="5.0.1" />""", "",
                new[] { old, old }.Concat(Texts).ToArray());
            CollectionAssert.AreEqual(Array.Empty<string>(), ConstraintWarnings(build5), build5);
            StringAssert.Contains(run5, "Microsoft.ML=5.0.1");
            StringAssert.Contains(run5, "accuracy=1.000");
            StringAssert.Contains(run5, "predicted=spam");
            var scores5 = Scores(run5);
            Assert.HasCount(Texts.Length, scores5, run5);

            var (build6, run6) = BuildAndRun("""
                <PackageReference Include="Microsoft.ML" Version="6.0.0" />
                <PackageReference Include="Microsoft.ML.TorchSharp" Version="0.24.0" />
                """, MlNetTorchSharp, new[] { Path.Combine(folder, "saved-on-6.0.0.zip"), old }.Concat(Texts).ToArray());
            CollectionAssert.AreEqual(Array.Empty<string>(), ConstraintWarnings(build6), build6);
            StringAssert.Contains(run6, "Microsoft.ML=6.0.0");
            StringAssert.Contains(run6, "Microsoft.ML.TorchSharp estimator=TextClassificationTrainer");
            StringAssert.Contains(run6, "accuracy=1.000");
            StringAssert.Contains(run6, "predicted=spam");
            CollectionAssert.AreEqual(scores5, Scores(run6), $"5.0.1:\n{run5}\n6.0.0:\n{run6}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
