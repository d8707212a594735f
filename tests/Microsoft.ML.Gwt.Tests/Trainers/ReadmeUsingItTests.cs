using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Tests.Packaging;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>A row as the README's "Using it" snippet describes it: string Label and string Text.</summary>
public sealed class Row
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

/// <summary>The README's "Using it" section: its snippets run as written here, and its claims hold.</summary>
[TestClass]
public sealed class ReadmeUsingItTests
{
    private static string UsingItSection()
    {
        var readme = File.ReadAllText(Path.Combine(PackedLibrary.RepositoryRoot, "README.md"));
        int start = readme.IndexOf("## Using it", StringComparison.Ordinal);
        int end = readme.IndexOf("### The encoder on its own", start, StringComparison.Ordinal);
        Assert.IsTrue(start >= 0 && end > start, "README sections moved");
        return readme[start..end];
    }

    private static List<Row> Rows(string split, int perClass) =>
        SpamData.Take(split, perClass, "ham", "spam").Select(e => new Row { Label = e.Label, Text = e.Text }).ToList();

    private static GwtTextClassificationTransformer GwtPart(ITransformer chain) =>
        ((IEnumerable<ITransformer>)chain).OfType<GwtTextClassificationTransformer>().Single();

    [TestMethod]
    public void EveryCodeLineOfTheSnippetsIsInThisTest()
    {
        var source = File.ReadAllLines(Path.Combine(PackedLibrary.RepositoryRoot, "tests", "Microsoft.ML.Gwt.Tests", "Trainers", "ReadmeUsingItTests.cs"))
            .Select(l => l.Trim()).ToHashSet();
        var blocks = Regex.Matches(UsingItSection(), "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.HasCount(2, blocks, "the section's two snippets");
        foreach (Match block in blocks)
        {
            foreach (var raw in block.Groups[1].Value.Split('\n'))
            {
                var line = Regex.Replace(raw, @"\s*//.*$", "").Trim();
                if (line.Length == 0 || line.StartsWith("using ", StringComparison.Ordinal))
                {
                    continue;
                }
                Assert.Contains(line, source, $"README line not run by this test: {line}");
            }
        }
    }

    [TestMethod]
    public void ShortSnippetTrainsATinyEncoderFromScratchAndRuns()
    {
        var trainRows = Rows("train", 20);
        var test = new MLContext().Data.LoadFromEnumerable(Rows("test", 10));
        var folder = Directory.CreateTempSubdirectory("gwt-readme-").FullName;
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder;
        try
        {
            var mlContext = new MLContext(seed: 0);
            IDataView train = mlContext.Data.LoadFromEnumerable(trainRows);
            var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.Gwt(
                    labelColumnName: "Label", sentence1ColumnName: "Text", batchSize: 32, maxEpochs: 3))
                .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
            var model = pipeline.Fit(train);

            var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
            mlContext.Model.Save(model, train.Schema, "model.zip");
            var engine = mlContext.Model.CreatePredictionEngine<Row, Prediction>(model);

            // A tiny encoder trained from scratch: 2 layers x 128, vocabulary fitted to the text (not a pretrained model).
            var gwt = GwtPart(model);
            Assert.AreEqual(128, gwt.Config.HiddenSize);
            Assert.AreEqual(2, gwt.Config.NumHiddenLayers);
            Assert.AreEqual(3 * 2, gwt.TrainingResult!.Steps, "3 epochs of ceil(40 / 32) = 2 batches");
            Assert.AreEqual(20, metrics.ConfusionMatrix.Counts.Sum(r => r.Sum()), "evaluated every test row");
            var prediction = engine.Predict(new Row { Text = "FREE money, click now" });
            Assert.Contains(prediction.PredictedLabel, new[] { "ham", "spam" });
            Assert.HasCount(2, prediction.Score);
            Assert.AreEqual(1.0, prediction.Score.Sum(), 1e-4);

            // "config, tokenizer, weights and labels inside": a fresh context loads it and predicts the same.
            var loaded = new MLContext(seed: 9).Model.Load(Path.Combine(folder, "model.zip"), out _);
            var again = new MLContext().Model.CreatePredictionEngine<Row, Prediction>(loaded).Predict(new Row { Text = "FREE money, click now" });
            Assert.AreEqual(prediction.PredictedLabel, again.PredictedLabel);
            CollectionAssert.AreEqual(prediction.Score, again.Score);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
    }

    [TestMethod]
    public void PretrainedSnippetFineTunesTheCheckpoint()
    {
        var checkpointFolder = Path.Combine(AppContext.BaseDirectory, "TestData", "checkpoints", "bert-tiny");
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Data.LoadFromEnumerable(Rows("train", 16));
        var finetune = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.Gwt(
                labelColumnName: "Label", sentence1ColumnName: "Text", batchSize: 32, maxEpochs: 3,
                pretrainedModelPath: checkpointFolder, maxSequenceLength: 32))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = finetune.Fit(train);

        // The checkpoint's architecture and vocabulary, not the from-scratch tiny encoder.
        var gwt = GwtPart(model);
        Assert.AreEqual(32, gwt.Config.HiddenSize, "bert-tiny's hidden_size");
        Assert.AreEqual(40, gwt.Config.VocabSize, "bert-tiny's vocab_size");
        var prediction = mlContext.Model.CreatePredictionEngine<Row, Prediction>(model).Predict(new Row { Text = "hello" });
        Assert.Contains(prediction.PredictedLabel, new[] { "ham", "spam" });
    }

    [TestMethod]
    public void TheAllOptionsListNamesEveryOptionAndNothingElse()
    {
        var section = UsingItSection();
        int start = section.IndexOf("All options (", StringComparison.Ordinal);
        var paragraph = section[start..section.IndexOf("\n\n", start, StringComparison.Ordinal)];
        var named = Regex.Matches(paragraph, "`([A-Z][A-Za-z0-9]+)`").Select(m => m.Groups[1].Value).ToHashSet();
        var options = typeof(GwtTextClassificationTrainer.Options).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet();
        var enumValues = new[] { typeof(GwtModelSize), typeof(GwtOptimizerKind), typeof(GwtDevice), typeof(NonFiniteStepAction), typeof(GwtPrecision) }
            .SelectMany(Enum.GetNames).ToHashSet();
        foreach (var name in named)
        {
            Assert.IsTrue(options.Contains(name) || enumValues.Contains(name), $"README names `{name}`, which is no option or option value");
        }
        // The short overload's parameters are documented by the snippet; every other option is in the list.
        var shortOverload = new[] { "LabelColumnName", "ScoreColumnName", "PredictedLabelColumnName", "Sentence1ColumnName", "Sentence2ColumnName", "BatchSize", "MaxEpochs" };
        foreach (var option in options.Except(shortOverload))
        {
            Assert.Contains(option, named, $"Option {option} is not named in the README's 'All options' paragraph");
        }
    }

    [TestMethod]
    public void TheReadmeSaysTheShortCallTrainsFromScratch()
    {
        var section = UsingItSection();
        StringAssert.Contains(section, "trains a tiny encoder (2 layers × 128) from");
        StringAssert.Contains(section, "`TextClassification` fine-tunes a pretrained RoBERTa");
        var tiny = TransformerConfigTiny();
        Assert.AreEqual(2, tiny.NumHiddenLayers);
        Assert.AreEqual(128, tiny.HiddenSize);
    }

    private static Microsoft.ML.Gwt.Core.Modeling.TransformerConfig TransformerConfigTiny() => Microsoft.ML.Gwt.Core.Modeling.TransformerConfig.Tiny(100);
}
