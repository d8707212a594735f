// The GWT paper's pre-training comparison at small scale: the same encoder pre-trained as a masked language model on the
// same text for the same number of steps with AdamW and with GWT-Adam at levels 1, 2 and 3 (the paper's pre-training
// preset otherwise: alpha 0.25, learning rate 1e-2, no weight decay; AdamW at 1e-3). Reports held-out MLM loss and
// perplexity, optimizer state bytes and sequences/s in one table with ratios to AdamW, and a PNG of the loss curves.
// Text: the SpamAssassin bodies shipped in data/spamassassin (training split to train, validation split held out).
//   dotnet run --project bench/Pretraining -c Release -- [--rows 1500] [--epochs 2] [--tokens 128] [--batch 32]
//       [--model-size tiny|small] [--output bench-output/pretraining]
//       [--runs adamw,gwt1,gwt2,gwt3] [--adamw-lr X] [--gwt-lr X] [--gwt-alpha X]   (a subset of runs, other learning rates)
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
double? adamwLr = null, gwtLr = null, gwtAlpha = null;
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
        case "--adamw-lr": adamwLr = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--gwt-lr": gwtLr = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--gwt-alpha": gwtAlpha = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs": only.UnionWith(args[++i].Split(',')); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
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
foreach (var (name, kind, level) in new[] { ("AdamW", GwtOptimizerKind.AdamW, 0), ("GWT level 1", GwtOptimizerKind.Gwt, 1), ("GWT level 2", GwtOptimizerKind.Gwt, 2), ("GWT level 3", GwtOptimizerKind.Gwt, 3) })
{
    if (only.Count > 0 && !only.Contains(kind == GwtOptimizerKind.AdamW ? "adamw" : $"gwt{level}"))
    {
        continue;
    }
    var options = new GwtPretrainingOptions
    {
        LearningRate = kind == GwtOptimizerKind.AdamW ? adamwLr : gwtLr, GwtAlpha = gwtAlpha ?? GwtPretrainingOptions.GwtPresetAlpha,
        OutputFolder = Path.Combine(output, "model-" + name.Replace(' ', '-').ToLowerInvariant()), TokenizerPath = vocabulary,
        ModelSize = size, MaxSequenceLength = tokens, BatchSize = batch, MaxEpochs = epochs, Optimizer = kind,
        GwtLevel = Math.Max(1, level), Seed = seed, ValidationSet = heldOutView, LogEverySteps = int.MaxValue,
        Progress = p =>
        {
            if (p.ValidationLoss is double v)
            {
                Console.WriteLine($"  {name} epoch {p.Epoch}: held-out loss {v:F4}");
            }
            else if (p.Step % 25 == 0)
            {
                Console.WriteLine($"  {name} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.SequencesPerSecond:F1} sequences/s");
            }
        },
    };
    Console.WriteLine($"{name}: learning rate {DefaultLearningRates.Pretraining(options.LearningRate, kind)}{(kind == GwtOptimizerKind.Gwt ? $", alpha {options.GwtAlpha}" : "")}");
    var r = ml.GwtPretraining(options).Fit(trainView);
    runs.Add(new Run(name, r.Steps, r.SequencesPerEpoch, r.ValidationLoss.ToArray(), r.ValidationLoss[^1], r.ValidationPerplexity!.Value,
        r.OptimizerStateBytes, r.SequencesPerSecond, r.TrainingLoss.ToArray()));
}

var md = new StringBuilder();
md.AppendLine($"| {rows} texts, {runs[0].SequencesPerEpoch} sequences × {tokens} tokens, {runs[0].Steps} steps | held-out MLM loss | perplexity | loss / AdamW | optimizer state | state / AdamW | sequences / s | speed / AdamW |");
md.AppendLine("|---|---|---|---|---|---|---|---|");
var baseline = runs[0];
foreach (var r in runs)
{
    md.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.Name} | {r.HeldOutLoss:F4} | {r.Perplexity:F1} | {r.HeldOutLoss / baseline.HeldOutLoss:F3} | {r.StateBytes / 1048576.0:F2} MB | {(double)r.StateBytes / baseline.StateBytes:F3} | {r.SequencesPerSecond:F1} | {r.SequencesPerSecond / baseline.SequencesPerSecond:F3} |"));
}
Console.WriteLine();
Console.Write(md);
AtomicFile.WriteAllText(Path.Combine(output, "results.md"), md.ToString());
AtomicFile.WriteAllText(Path.Combine(output, "results.json"), JsonSerializer.Serialize(runs, new JsonSerializerOptions { WriteIndented = true }));

var plot = new ScottPlot.Plot();
var colors = new[] { ScottPlot.Colors.Black, ScottPlot.Colors.C0, ScottPlot.Colors.C1, ScottPlot.Colors.C2 };
int stepsPerEpoch = (int)(baseline.Steps / epochs);
for (int i = 0; i < runs.Count; i++)
{
    var loss = runs[i].TrainingLoss;
    int window = Math.Max(1, stepsPerEpoch / 5);
    var smooth = Enumerable.Range(0, loss.Length).Select(k => loss.Skip(Math.Max(0, k - window + 1)).Take(Math.Min(window, k + 1)).Average()).ToArray();
    var line = plot.Add.ScatterLine(Enumerable.Range(1, loss.Length).Select(x => (double)x).ToArray(), smooth);
    line.LegendText = $"{runs[i].Name} training (moving average)";
    line.Color = colors[i];
    var points = plot.Add.Scatter(Enumerable.Range(1, runs[i].HeldOut.Length).Select(e => (double)e * stepsPerEpoch).ToArray(), runs[i].HeldOut);
    points.LegendText = $"{runs[i].Name} held-out";
    points.Color = colors[i];
    points.LinePattern = ScottPlot.LinePattern.Dashed;
    points.MarkerSize = 8;
}
plot.Title("MLM pre-training on SpamAssassin bodies: AdamW vs GWT-Adam levels 1-3");
plot.XLabel("optimizer step");
plot.YLabel("masked-language-model loss");
plot.ShowLegend();
AtomicFile.WriteAllBytes(Path.Combine(output, "loss.png"), plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png));
Console.WriteLine($"Wrote {Path.GetFullPath(output)}/results.md, results.json and loss.png");
return 0;

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

internal sealed record Run(string Name, long Steps, long SequencesPerEpoch, double[] HeldOut, double HeldOutLoss, double Perplexity,
    long StateBytes, double SequencesPerSecond, double[] TrainingLoss);
