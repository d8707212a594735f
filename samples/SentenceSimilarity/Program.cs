// Trains a sentence-similarity model (a transformer that scores how alike two sentences are, 0-5) with GWT-compressed
// Adam on the shipped shapes-sts pairs, then does what an application does with it: evaluate (MSE, and the Pearson and
// Spearman correlations STS benchmarks report), save, load in a fresh MLContext, score one pair, and export it for ONNX
// Runtime, which scores without TorchSharp.
//
//   dotnet run --project samples/SentenceSimilarity -c Release
//
// It trains on the first 4,000 of the 16,000 training pairs for 8 epochs (about 6 minutes on 2 cores). For a quick try,
// GWT_SAMPLE_TRAIN_ROWS=300 trains on 300 random training pairs and GWT_SAMPLE_EPOCHS=2 for 2 epochs (the tests do both).
// The comparison with AdamW and the baselines in the README is bench/SentenceSimilarityComparison.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Trainers;

var output = Directory.CreateDirectory("output").FullName;

// One file with a header (Label, Split, Sentence1, Sentence2); the Split column says which rows train, validate and test.
// The data is constructed (data/shapes-sts/derive.py): "the red cube is left of the blue ball" and the like, labelled by
// how many of five meaning attributes two scenes share.
var mlContext = new MLContext(seed: 42);
var tsv = Path.Combine(AppContext.BaseDirectory, "data", "shapes-sts.tsv");
IDataView all = mlContext.Data.LoadFromTextFile<Pair>(tsv, separatorChar: '\t', hasHeader: true);
IDataView Split(string name) => mlContext.Data.FilterByCustomPredicate<Pair>(all, p => p.Split != name); // drops the other rows
IDataView train = Split("train"), validation = Split("validation"), test = Split("test");
train = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_TRAIN_ROWS"), out int rows)
    ? mlContext.Data.TakeRows(mlContext.Data.ShuffleRows(train, seed: 42, shufflePoolSize: 10_000), rows)
    : mlContext.Data.TakeRows(train, 4_000);

// The label is a float; the two sentences are encoded as one pair ([CLS] a [SEP] b [SEP]) and a one-output head scores it.
var trainer = mlContext.Regression.Trainers.GwtSentenceSimilarity(new GwtSentenceSimilarityTrainer.Options
{
    // A Tiny encoder (2 layers x 128) trained from scratch with a vocabulary fitted to the training text; set
    // PretrainedModelPath to fine-tune a local Hugging Face checkpoint instead.
    LabelColumnName = "Label", Sentence1ColumnName = "Sentence1", Sentence2ColumnName = "Sentence2",
    MaxEpochs = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_EPOCHS"), out int epochs) ? epochs : 8, MaxSequenceLength = 48,
    Seed = 42, // fixed weights, shuffling and dropout (default: drawn from the MLContext's seed)
    ValidationSet = validation,
    Progress = p =>
    {
        if (p.ValidationAccuracy is double pearson)
        {
            Console.WriteLine($"epoch {p.Epoch}: validation MSE {p.ValidationLoss:F4}, Pearson {pearson:F4}");
        }
    },
});
Console.WriteLine("Training (GWT-Adam, level 2: Adam's moments of the attention and feed-forward weights are 4x smaller)");
var model = trainer.Fit(train);

var scored = model.Transform(test);
var regression = mlContext.Regression.Evaluate(scored);                 // ML.NET's metrics: MSE, MAE, R²
var sts = mlContext.Regression.EvaluateSentenceSimilarity(scored);       // the STS convention: Pearson and Spearman
Console.WriteLine($"Test: Pearson {sts.PearsonCorrelation:F4}, Spearman {sts.SpearmanCorrelation:F4}, MSE {regression.MeanSquaredError:F4}, R² {regression.RSquared:F4}");

// The zip holds the encoder config, the tokenizer and the weights, each with a SHA-256.
var modelPath = Path.Combine(output, "sts-model.zip");
mlContext.Model.Save(model, all.Schema, modelPath);

// In another process (here: a fresh MLContext), load it and score one pair at a time.
var serving = new MLContext();
var loaded = serving.Model.Load(modelPath, out _);
var engine = serving.Model.CreatePredictionEngine<Pair, Similarity>(loaded);
var pair = new Pair { Sentence1 = "the red cube is left of the blue ball", Sentence2 = "the blue sphere is to the right of the red block" };
Console.WriteLine($"'{pair.Sentence1}' vs '{pair.Sentence2}': {engine.Predict(pair).Score:F2} (a paraphrase: 5)");

// Export for ONNX Runtime: a folder (model.onnx, tokenizer) that an app referencing only the Microsoft.ML.Gwt.Onnx
// package scores, with no TorchSharp and no libtorch.
var onnxFolder = Path.Combine(output, "sts-onnx");
model.ExportForOnnxScoring(onnxFolder);
using var onnx = GwtOnnxSentenceSimilarityTransformer.Load(serving, onnxFolder);
var onnxScores = onnx.Transform(test).GetColumn<float>("Score").ToArray();
var torchScores = scored.GetColumn<float>("Score").ToArray();
double maxDiff = onnxScores.Zip(torchScores, (a, b) => (double)Math.Abs(a - b)).Max();
Console.WriteLine($"ONNX Runtime: test Pearson {serving.Regression.EvaluateSentenceSimilarity(onnx.Transform(test)).PearsonCorrelation:F4}, " +
    $"largest difference from TorchSharp {maxDiff:E1} over {onnxScores.Length} pairs");
Console.WriteLine($"Files: {modelPath}, {onnxFolder}");

/// <summary>A row of data/shapes-sts/shapes-sts.tsv.</summary>
public sealed class Pair
{
    [LoadColumn(0)] public float Label { get; set; }
    [LoadColumn(1)] public string Split { get; set; } = "";
    [LoadColumn(2)] public string Sentence1 { get; set; } = "";
    [LoadColumn(3)] public string Sentence2 { get; set; } = "";
}

/// <summary>What the model adds to a row: the predicted similarity.</summary>
public sealed class Similarity
{
    public float Score { get; set; }
}
