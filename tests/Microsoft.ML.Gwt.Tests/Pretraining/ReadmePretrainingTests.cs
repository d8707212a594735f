using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Tests.Packaging;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

/// <summary>The README's pre-training snippet runs as written here.</summary>
[TestClass]
public sealed class ReadmePretrainingTests
{
    private sealed class Row
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
    }

    [TestMethod]
    public void SnippetRunsAndEveryLineIsInThisTest()
    {
        var readme = File.ReadAllText(Path.Combine(PackedLibrary.RepositoryRoot, "README.md"));
        int start = readme.IndexOf("### Pre-training your own encoder", StringComparison.Ordinal);
        int end = readme.IndexOf("## How GWT-Adam works", start, StringComparison.Ordinal);
        Assert.IsTrue(start >= 0 && end > start, "README sections moved");
        var source = File.ReadAllLines(Path.Combine(PackedLibrary.RepositoryRoot, "tests", "Microsoft.ML.Gwt.Tests", "Pretraining", "ReadmePretrainingTests.cs"))
            .Select(l => l.Trim()).ToHashSet();
        var block = Regex.Match(readme[start..end], "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        foreach (var line in block.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
        {
            Assert.Contains(line, source, $"README line not run by this test: {line}");
        }

        var mlContext = new MLContext(1);
        var texts = Trainers.SpamData.Take("train", 8, "ham", "spam");
        var unlabeledText = mlContext.Data.LoadFromEnumerable(texts.Select(e => new Row { Text = e.Text }));
        var heldOutText = mlContext.Data.LoadFromEnumerable(Trainers.SpamData.Take("validation", 2, "ham", "spam").Select(e => new Row { Text = e.Text }));
        var folder = Path.Combine(Path.GetTempPath(), "gwt-readme-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(folder);
        try
        {
            var result = mlContext.GwtPretraining(new GwtPretrainingOptions
            {
                TextColumnName = "Text", OutputFolder = "models/my-encoder",     // ModelSize Tiny/Small/Base, or ContinueFrom = a BERT/RoBERTa folder
                MaxEpochs = 3, ValidationSet = heldOutText,                     // held-out MLM loss after each epoch
            }).Fit(unlabeledText);                                              // any IDataView with a text column, streamed
            Console.WriteLine($"held-out perplexity {result.ValidationPerplexity:F1}, optimizer state {result.OptimizerStateBytes / 1e6:F1} MB");
            var finetune = mlContext.MulticlassClassification.Trainers.Gwt(labelColumnName: "Label", sentence1ColumnName: "Text",
                pretrainedModelPath: result.OutputFolder);

            Assert.HasCount(3, result.ValidationLoss);
            Assert.AreEqual(Path.Combine(folder, "models", "my-encoder"), result.OutputFolder);
            Assert.AreEqual(result.OutputFolder, finetune.TrainerOptions.PretrainedModelPath);
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(folder, recursive: true);
        }
    }
}
