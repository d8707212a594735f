// Trains a transformer text classifier with GWT-compressed Adam on SpamAssassin emails (ham / hard_ham / spam), then does
// what an application does with it: evaluate, save, load in a fresh MLContext, predict one email, and export it for ONNX
// Runtime, which scores without TorchSharp.
//
//   dotnet run --project samples/TextClassification -c Release
//
// For a quick try, GWT_SAMPLE_TRAIN_ROWS=300 trains on 300 random training emails instead of all 4,668 (the tests do).
// The comparison with AdamW and n-grams + SDCA in the README's Results section is bench/SampleComparison.
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Trainers;

var output = Directory.CreateDirectory("output").FullName;

// The dataset ships gzipped (data/spamassassin); ML.NET's text loader reads plain files, so unpack it first.
var tsv = Path.Combine(output, "spamassassin.tsv");
using (var gz = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin.tsv.gz")), CompressionMode.Decompress))
using (var file = File.Create(tsv))
{
    gz.CopyTo(file);
}

// One file with a header (Label, Split, Text); the Split column says which rows train, validate and test.
var mlContext = new MLContext(seed: 42);
IDataView all = mlContext.Data.LoadFromTextFile<Email>(tsv, separatorChar: '\t', hasHeader: true);
IDataView Split(string name) => mlContext.Data.FilterByCustomPredicate<Email>(all, e => e.Split != name); // drops the other rows
IDataView train = Split("train"), validation = Split("validation"), test = Split("test");
if (int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_TRAIN_ROWS"), out int rows))
{
    train = mlContext.Data.TakeRows(mlContext.Data.ShuffleRows(train, seed: 42, shufflePoolSize: 10_000), rows);
}

// Trainers take the label as a key. The validation set must use the training labels' keys, so it is mapped by a
// MapValueToKey fitted on the training data (the pipeline's own first step fits the same mapping).
var labelKeys = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(train);
var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    .Append(mlContext.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options
    {
        // A Tiny encoder (2 layers x 128) trained from scratch with a vocabulary fitted to the training text; set
        // PretrainedModelPath to fine-tune a local Hugging Face checkpoint instead. Learning rate, GWT level etc. keep
        // their defaults.
        LabelColumnName = "Label", Sentence1ColumnName = "Text", MaxEpochs = 3,
        Seed = 42, // fixed weights, shuffling and dropout (default: drawn from the MLContext's seed)
        ValidationSet = labelKeys.Transform(validation),
        Progress = p =>
        {
            if (p.ValidationAccuracy is double accuracy)
            {
                Console.WriteLine($"epoch {p.Epoch}: validation accuracy {accuracy:P2}");
            }
            else if (p.Step % 50 == 0)
            {
                Console.WriteLine($"epoch {p.Epoch} step {p.Step}/{p.TotalSteps}: loss {p.Loss:F4}, {p.ExamplesPerSecond:F0} emails/s");
            }
        },
    }))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel")); // key -> "ham" / "hard_ham" / "spam"
Console.WriteLine("Training (GWT-Adam, level 2: Adam's moments of the attention and feed-forward weights are 4x smaller)");
var model = pipeline.Fit(train);

var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
double macroF1 = metrics.ConfusionMatrix.PerClassPrecision.Zip(metrics.ConfusionMatrix.PerClassRecall, (p, r) => p + r > 0 ? 2 * p * r / (p + r) : 0).Average();
Console.WriteLine($"Test: accuracy {metrics.MicroAccuracy:P2}, macro-F1 {macroF1:F4}, log-loss {metrics.LogLoss:F4}");

// The zip holds the label mapping, the encoder config, the tokenizer and the weights.
var modelPath = Path.Combine(output, "model.zip");
mlContext.Model.Save(model, all.Schema, modelPath);

// In another process (here: a fresh MLContext), load it and predict one email at a time.
var serving = new MLContext();
var loaded = serving.Model.Load(modelPath, out _);
var engine = serving.Model.CreatePredictionEngine<Email, Prediction>(loaded);
var email = new Email { Text = "Congratulations! You have been selected for a FREE cruise. Click here to claim your prize before it expires." };
var prediction = engine.Predict(email);
Console.WriteLine($"Prediction: '{email.Text[..40]}...' is {prediction.PredictedLabel} (probability {prediction.Score.Max():P1})");

// Export for ONNX Runtime: a folder (model.onnx, tokenizer, labels) that an app referencing only the
// Microsoft.ML.Gwt.Onnx package scores, with no TorchSharp and no libtorch.
var onnxFolder = Path.Combine(output, "onnx");
model.OfType<GwtTextClassificationTransformer>().Single().ExportForOnnxScoring(onnxFolder);
using var onnx = GwtOnnxTextClassificationTransformer.Load(serving, onnxFolder);
var onnxScored = onnx.Transform(labelKeys.Transform(test)); // same Score and PredictedLabel (key) columns
var onnxMetrics = serving.MulticlassClassification.Evaluate(onnxScored);
var onnxLabels = onnxScored.GetColumn<uint>("PredictedLabel").Select(key => onnx.LabelNames![(int)key - 1]).ToList();
var torchLabels = model.Transform(test).GetColumn<string>("PredictedLabel").ToList();
int same = onnxLabels.Zip(torchLabels, (a, b) => a == b ? 1 : 0).Sum();
Console.WriteLine($"ONNX Runtime: test accuracy {onnxMetrics.MicroAccuracy:P2}, same label as TorchSharp on {same} of {torchLabels.Count} emails");
Console.WriteLine($"Files: {modelPath}, {onnxFolder}");

/// <summary>A row of data/spamassassin/spamassassin.tsv.</summary>
public sealed class Email
{
    [LoadColumn(0)] public string Label { get; set; } = "";
    [LoadColumn(1)] public string Split { get; set; } = "";
    [LoadColumn(2)] public string Text { get; set; } = "";
}

/// <summary>What the model adds to a row: the predicted label and one probability per label.</summary>
public sealed class Prediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}
