using System.Diagnostics;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Trainers;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

/// <summary>The point of importing: the pretrained MiniLM, fine-tuned with GWT through <c>PretrainedModelPath</c> on a
/// small SpamAssassin slice, beats the same architecture from a random initialization trained the same steps.</summary>
[TestClass]
public sealed class ImportedEncoderFineTuningTests
{
    [TestMethod]
    public void ImportedMiniLmFineTunesBetterThanTheSameEncoderFromScratch()
    {
        var imported = NuGetEncoders.Imported(NuGetEncoders.MiniLm).OutputFolder;
        var scratch = RandomlyInitializedCopy(imported);
        var train = SpamData.Take("train", 100, "ham", "spam");   // 200 rows, balanced
        var test = SpamData.Take("test", 100, "ham", "spam");     // 200 held-out rows: chance is 0.5

        var (scratchAccuracy, scratchSeconds) = FineTune(scratch, train, test);
        NuGetEncoders.Delete(scratch);
        var (pretrainedAccuracy, pretrainedSeconds) = FineTune(imported, train, test);
        Console.WriteLine($"imported MiniLM: accuracy {pretrainedAccuracy:F4} ({pretrainedSeconds:F1} s); " +
            $"same config from scratch: {scratchAccuracy:F4} ({scratchSeconds:F1} s); 200 rows, 64 tokens, 1 epoch of 25 steps");
        Assert.IsGreaterThan(scratchAccuracy + 0.1, pretrainedAccuracy);
        Assert.IsGreaterThan(0.8, pretrainedAccuracy);
    }

    private static (double Accuracy, double Seconds) FineTune(string folder, List<Email> train, List<Email> test)
    {
        var watch = Stopwatch.StartNew();
        var ml = new MLContext(seed: 1);
        var options = new GwtTextClassificationTrainer.Options
        {
            LabelColumnName = "Label", Sentence1ColumnName = "Text", PretrainedModelPath = folder, MaxSequenceLength = 64,
            BatchSize = 8, MaxEpochs = 1, LearningRate = 1e-4, Seed = 1,
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(options));
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(train));
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(test)));
        return (metrics.MicroAccuracy, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The imported folder with every weight replaced by Hugging Face's initialization (same config, same
    /// tokenizer files): the from-scratch baseline of the same architecture.</summary>
    private static string RandomlyInitializedCopy(string imported)
    {
        var folder = NuGetEncoders.TempFolder("minilm-scratch");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(imported).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        torch.manual_seed(1);
        using var encoder = TransformerEncoder.Create(CheckpointLoader.ReadConfig(imported));
        SafeTensors.Save(Path.Combine(folder, "model.safetensors"), encoder.state_dict());
        return folder;
    }
}
