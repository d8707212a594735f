// The GWT paper's pre-training comparison at small scale: the same encoder pre-trained as a masked language model on the
// same text for the same number of steps with AdamW and with GWT-Adam at levels 1, 2 and 3 (the pre-trainer's defaults
// otherwise). Reports held-out MLM loss and perplexity, optimizer state bytes and sequences/s in one table with ratios to
// the first run, and a PNG of the loss curves. Learning rates, alphas and untargeted learning rates take comma-separated
// lists: every combination is one run (the learning-rate sweeps of the README). --finetune then fine-tunes a GWT
// classifier (the trainer's defaults) from each pre-trained encoder on the SpamAssassin split and adds its test accuracy.
// Text: the SpamAssassin bodies shipped in data/spamassassin (training split to train, validation split held out).
//   dotnet run --project bench/Pretraining -c Release -- [--rows 1500] [--epochs 2] [--tokens 128] [--batch 32]
//       [--model-size tiny|small] [--output bench-output/pretraining]
//       [--runs adamw,gwt1,gwt2,gwt3] [--adamw-lr X,Y] [--gwt-lr X,Y] [--gwt-alpha X,Y] [--non-target-lr X,Y]
//       [--warmup F] [--finetune] [--finetune-epochs 3] [--finetune-lr X] [--finetune-only FOLDER,FOLDER]
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Gwt;
using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.IO;

int rows = 1500, epochs = 2, tokens = 128, batch = 32, seed = 42, heldOutRows = 300;
double?[] adamwLrs = { null }, gwtLrs = { null }, gwtAlphas = { null }, nonTargetLrs = { null };
double? warmup = null, finetuneLr = null;
bool finetune = false;
string[]? finetuneOnly = null;
int finetuneEpochs = 3;
var only = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
var size = GwtModelSize.Tiny;
string output = Path.Combine("bench-output", "pretraining");
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--rows": rows = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--held-out-rows": heldOutRows = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--epochs": epochs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--tokens": tokens = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--model-size": size = Enum.Parse<GwtModelSize>(args[++i], ignoreCase: true); break;
        case "--output": output = args[++i]; break;
        case "--adamw-lr": adamwLrs = List(args[++i]); break;
        case "--gwt-lr": gwtLrs = List(args[++i]); break;
        case "--gwt-alpha": gwtAlphas = List(args[++i]); break;
        case "--non-target-lr": nonTargetLrs = List(args[++i]); break;
        case "--warmup": warmup = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--finetune": finetune = true; break;
        case "--finetune-epochs": finetuneEpochs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--finetune-lr": finetuneLr = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--finetune-only": finetuneOnly = args[++i].Split(','); break;
        case "--runs": only.UnionWith(args[++i].Split(',')); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

if (finetuneOnly is not null)
{
    // Fine-tune from folders an earlier run wrote (its model-N-* folders), without pre-training again.
    foreach (var folder in finetuneOnly)
    {
        Console.WriteLine($"{folder}: fine-tuned test accuracy {FineTune(new MLContext(seed), folder, finetuneEpochs, finetuneLr, seed):P2}");
    }
    return 0;
}

var (train, heldOut) = Load(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin.tsv.gz"), rows, heldOutRows);
Directory.CreateDirectory(output);
var ml = new MLContext(seed);
var trainView = ml.Data.LoadFromEnumerable(train.Select(t => new Row { Text = t }));
var heldOutView = ml.Data.LoadFromEnumerable(heldOut.Select(t => new Row { Text = t }));
Console.WriteLine($"{Environment.ProcessorCount} cores; {train.Count} training texts, {heldOut.Count} held-out texts; {size} encoder, {tokens} tokens, batch {batch}, {epochs} epochs, seed {seed}");

// One fitted vocabulary for every run, so they differ only in the optimizer.
var vocabulary = Path.GetFullPath(Path.Combine(output, "vocabulary"));
Directory.CreateDirectory(vocabulary);
var tokenizer = Microsoft.ML.Gwt.Core.Tokenization.WordPieceVocabularyFitter.Fit(train, 8192);
File.WriteAllText(Path.Combine(vocabulary, "vocab.txt"), tokenizer.VocabularyText);

var runs = new List<Run>();
var configurations = new List<(string Name, GwtOptimizerKind Kind, int Level, double? Lr, double? Alpha, double? NonTargetLr)>();
foreach (var (name, kind, level) in new[] { ("AdamW", GwtOptimizerKind.AdamW, 0), ("GWT level 1", GwtOptimizerKind.Gwt, 1), ("GWT level 2", GwtOptimizerKind.Gwt, 2), ("GWT level 3", GwtOptimizerKind.Gwt, 3) })
{
    if (only.Count > 0 && !only.Contains(kind == GwtOptimizerKind.AdamW ? "adamw" : $"gwt{level}"))
    {
        continue;
    }
    if (kind == GwtOptimizerKind.AdamW)
    {
        configurations.AddRange(adamwLrs.Select(lr => (adamwLrs.Length > 1 ? $"{name} lr {lr}" : name, kind, level, lr, (double?)null, (double?)null)));
        continue;
    }
    foreach (var lr in gwtLrs)
    {
        foreach (var alpha in gwtAlphas)
        {
            foreach (var nonTarget in nonTargetLrs)
            {
                string label = name + (gwtLrs.Length > 1 ? $" lr {lr}" : "") + (gwtAlphas.Length > 1 ? $" alpha {alpha}" : "") +
                    (nonTargetLrs.Length > 1 ? $" untargeted {nonTarget}" : "");
                configurations.Add((label, kind, level, lr, alpha, nonTarget));
            }
        }
    }
}
for (int c = 0; c < configurations.Count; c++)
{
    var (name, kind, level, lr, alpha, nonTarget) = configurations[c];
    var options = new GwtPretrainingOptions
    {
        LearningRate = lr, GwtAlpha = alpha ?? GwtPretrainingOptions.GwtPresetAlpha, NonTargetLearningRate = nonTarget,
        OutputFolder = Path.Combine(output, $"model-{c}-" + (kind == GwtOptimizerKind.AdamW ? "adamw" : $"gwt{level}")), TokenizerPath = vocabulary,
        ModelSize = size, MaxSequenceLength = tokens, BatchSize = batch, MaxEpochs = epochs, Optimizer = kind,
        GwtLevel = Math.Max(1, level), Seed = seed, ValidationSet = heldOutView, LogEverySteps = int.MaxValue,
        Progress = p =>
        {
            if (p.ValidationLoss is double v)
            {
                Console.WriteLine($"  {name} epoch {p.Epoch}: held-out loss {v:F4}");
            }
            else if (p.Step % 50 == 0)
            {
                Console.WriteLine($"  {name} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.SequencesPerSecond:F1} sequences/s");
            }
        },
    };
    if (warmup is double w)
    {
        options.WarmupFraction = w;
    }
    double resolvedLr = DefaultLearningRates.Pretraining(options.LearningRate, kind);
    double resolvedNonTarget = DefaultLearningRates.PretrainingNonTarget(options.NonTargetLearningRate, kind, resolvedLr);
    Console.WriteLine($"{name}: learning rate {resolvedLr}{(kind == GwtOptimizerKind.Gwt ? $", alpha {options.GwtAlpha}, untargeted parameters {resolvedNonTarget}" : "")}, warm-up {options.WarmupFraction}");
    var r = ml.GwtPretraining(options).Fit(trainView);
    double? accuracy = null;
    if (finetune)
    {
        accuracy = FineTune(ml, r.OutputFolder, finetuneEpochs, finetuneLr, seed);
        Console.WriteLine($"  {name}: fine-tuned test accuracy {accuracy:P2}");
    }
    runs.Add(new Run(name, r.Steps, r.SequencesPerEpoch, r.ValidationLoss.ToArray(), r.ValidationLoss[^1], r.ValidationPerplexity!.Value,
        r.OptimizerStateBytes, r.SequencesPerSecond, r.TrainingLoss.ToArray(), resolvedLr, kind == GwtOptimizerKind.Gwt ? options.GwtAlpha : null,
        resolvedNonTarget, options.WarmupFraction, accuracy));
}

var md = new StringBuilder();
md.AppendLine($"| {rows} texts, {runs[0].SequencesPerEpoch} sequences × {tokens} tokens, {runs[0].Steps} steps | lr | alpha | untargeted lr | held-out MLM loss | perplexity | loss / first | optimizer state | state / first | sequences / s | speed / first |{(finetune ? " fine-tuned test accuracy |" : "")}");
md.AppendLine($"|---|---|---|---|---|---|---|---|---|---|---|{(finetune ? "---|" : "")}");
var baseline = runs[0];
foreach (var r in runs)
{
    md.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.Name} | {r.LearningRate:G3} | {(r.Alpha is double a ? a.ToString("G3", CultureInfo.InvariantCulture) : "–")} | {r.NonTargetLearningRate:G3} | {r.HeldOutLoss:F4} | {r.Perplexity:F1} | {r.HeldOutLoss / baseline.HeldOutLoss:F3} | {r.StateBytes / 1048576.0:F2} MB | {(double)r.StateBytes / baseline.StateBytes:F3} | {r.SequencesPerSecond:F1} | {r.SequencesPerSecond / baseline.SequencesPerSecond:F3} |{(r.FineTunedAccuracy is double acc ? $" {acc:P2} |" : finetune ? " – |" : "")}"));
}
Console.WriteLine();
Console.Write(md);
AtomicFile.WriteAllText(Path.Combine(output, "results.md"), md.ToString());
AtomicFile.WriteAllText(Path.Combine(output, "results.json"), JsonSerializer.Serialize(runs, new JsonSerializerOptions { WriteIndented = true }));

var plot = new ScottPlot.Plot();
var colors = new[] { ScottPlot.Colors.Black, ScottPlot.Colors.C0, ScottPlot.Colors.C1, ScottPlot.Colors.C2, ScottPlot.Colors.C3, ScottPlot.Colors.C4, ScottPlot.Colors.C5, ScottPlot.Colors.C6, ScottPlot.Colors.C7, ScottPlot.Colors.C8, ScottPlot.Colors.C9 };
int stepsPerEpoch = (int)(baseline.Steps / epochs);
for (int i = 0; i < runs.Count; i++)
{
    var loss = runs[i].TrainingLoss;
    int window = Math.Max(1, stepsPerEpoch / 5);
    var smooth = Enumerable.Range(0, loss.Length).Select(k => loss.Skip(Math.Max(0, k - window + 1)).Take(Math.Min(window, k + 1)).Average()).ToArray();
    var line = plot.Add.ScatterLine(Enumerable.Range(1, loss.Length).Select(x => (double)x).ToArray(), smooth);
    line.LegendText = $"{runs[i].Name} training (moving average)";
    line.Color = colors[i % colors.Length];
    var points = plot.Add.Scatter(Enumerable.Range(1, runs[i].HeldOut.Length).Select(e => (double)e * stepsPerEpoch).ToArray(), runs[i].HeldOut);
    points.LegendText = $"{runs[i].Name} held-out";
    points.Color = colors[i % colors.Length];
    points.LinePattern = ScottPlot.LinePattern.Dashed;
    points.MarkerSize = 8;
}
plot.Title("MLM pre-training on SpamAssassin bodies: AdamW vs GWT-Adam");
plot.XLabel("optimizer step");
plot.YLabel("masked-language-model loss");
plot.ShowLegend();
AtomicFile.WriteAllBytes(Path.Combine(output, "loss.png"), plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png));
Console.WriteLine($"Wrote {Path.GetFullPath(output)}/results.md, results.json and loss.png");
return 0;

static double?[] List(string text) => text.Split(',').Select(v => (double?)double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

// Fine-tunes a GWT classifier (the trainer's defaults: its checkpoint learning rate unless --finetune-lr) from the
// pre-trained folder on the SpamAssassin split's training rows and returns its accuracy on the test rows.
static double FineTune(MLContext ml, string folder, int epochs, double? lr, int seed)
{
    var (trainRows, testRows) = LoadLabelled(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin.tsv.gz"));
    var train = ml.Data.LoadFromEnumerable(trainRows);
    var test = ml.Data.LoadFromEnumerable(testRows);
    var options = new GwtTextClassificationTrainer.Options
    {
        LabelColumnName = "Label", Sentence1ColumnName = "Text", PretrainedModelPath = folder, MaxEpochs = epochs, BatchSize = 32,
        LearningRate = lr, Seed = seed, LogEverySteps = int.MaxValue,
    };
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(options));
    var model = pipeline.Fit(train);
    return ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
}

static (List<LabelledRow> Train, List<LabelledRow> Test) LoadLabelled(string path)
{
    using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var reader = new StreamReader(gz);
    var header = (reader.ReadLine() ?? "").Split('\t');
    int split = Array.IndexOf(header, "Split"), text = Array.IndexOf(header, "Text"), label = Array.IndexOf(header, "Label");
    var train = new List<LabelledRow>();
    var test = new List<LabelledRow>();
    string? line;
    while ((line = reader.ReadLine()) is not null)
    {
        var f = line.Split('\t');
        (f[split] == "train" ? train : f[split] == "test" ? test : null)?.Add(new LabelledRow { Label = f[label], Text = f[text] });
    }
    return (train, test);
}

static (List<string> Train, List<string> HeldOut) Load(string path, int rows, int heldOutRows)
{
    using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var reader = new StreamReader(gz);
    var header = (reader.ReadLine() ?? "").Split('\t');
    int split = Array.IndexOf(header, "Split"), text = Array.IndexOf(header, "Text");
    var train = new List<string>();
    var heldOut = new List<string>();
    string? line;
    while ((line = reader.ReadLine()) is not null)
    {
        var f = line.Split('\t');
        if (f[split] == "train" && train.Count < rows)
        {
            train.Add(f[text]);
        }
        else if (f[split] == "validation" && heldOut.Count < heldOutRows)
        {
            heldOut.Add(f[text]);
        }
    }
    return (train, heldOut);
}

internal sealed class Row
{
    public string Text { get; set; } = "";
}

internal sealed class LabelledRow
{
    public string Label { get; set; } = "";

    public string Text { get; set; } = "";
}

internal sealed record Run(string Name, long Steps, long SequencesPerEpoch, double[] HeldOut, double HeldOutLoss, double Perplexity,
    long StateBytes, double SequencesPerSecond, double[] TrainingLoss, double LearningRate, double? Alpha, double NonTargetLearningRate,
    double WarmupFraction, double? FineTunedAccuracy);
