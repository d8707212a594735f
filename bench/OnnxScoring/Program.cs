// Scoring speed of a trained classifier: TorchSharp (the trained transformer) against ONNX Runtime (the same model
// exported with ExportForOnnxScoring, graph optimizations on), for the sample's model and a BERT-base-sized one.
// Batched: rows/s of Transform over the test texts (ScoringBatchSize rows per forward pass). Single row: latency of
// PredictionEngine.Predict, p50 and p99. The two engines run in alternating rounds so that load from other processes on
// the machine falls on both; each figure is the median over the rounds.
//
//   dotnet run --project bench/OnnxScoring -c Release -- [--rounds 3] [--rows 256] [--single 200] [--epochs 1] [--no-base] [--int8]
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.OnnxExport;

var inv = CultureInfo.InvariantCulture;
int rounds = 3, rows = 256, single = 200, epochs = 1;
bool includeBase = true;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--rounds": rounds = int.Parse(args[++i], inv); break;
        case "--rows": rows = int.Parse(args[++i], inv); break;
        case "--single": single = int.Parse(args[++i], inv); break;
        case "--epochs": epochs = int.Parse(args[++i], inv); break;
        case "--no-base": includeBase = false; break;
        default: throw new ArgumentException($"Unknown option '{args[i]}'.");
    }
}

var (train, test) = LoadSpam(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin.tsv.gz"));
Console.WriteLine($"{Environment.ProcessorCount} logical cores; TorchSharp threads {TorchSharp.torch.get_num_threads()}; ONNX Runtime intra-op threads: default");
var ml = new MLContext(seed: 42);
var work = Directory.CreateTempSubdirectory("gwt-onnx-bench-").FullName;
var table = new List<string>();
try
{
    var sample = Train(ml, train, new GwtTextClassificationTrainer.Options
    {
        LabelColumnName = "Label", Sentence1ColumnName = "Text", MaxEpochs = epochs, BatchSize = 32, MaxSequenceLength = 128, Seed = 42,
    });
    Measure("sample (Tiny, 2×128, 128 tokens)", sample, test, checkLabels: true);
    if (includeBase)
    {
        var bertBase = Train(ml, train.GroupBy(r => r.Label).SelectMany(g => g.Take(11)).ToList(), new GwtTextClassificationTrainer.Options
        {
            LabelColumnName = "Label", Sentence1ColumnName = "Text", MaxEpochs = 1, BatchSize = 16, MaxSequenceLength = 128, Seed = 42,
            ModelSize = GwtModelSize.Base,
        });
        Measure("BERT-base-sized (12×768, 128 tokens, 1 step)", bertBase, test.Take(Math.Min(rows, 64)).ToList(), checkLabels: false, singleRows: Math.Min(single, 50));
    }
    Console.WriteLine();
    Console.WriteLine("| model | engine | batched rows/s | single-row p50 ms | single-row p99 ms |");
    Console.WriteLine("|---|---|---|---|---|");
    table.ForEach(Console.WriteLine);
}
finally
{
    Directory.Delete(work, recursive: true);
}

GwtTextClassificationTransformer Train(MLContext ml, List<Email> rows, GwtTextClassificationTrainer.Options options)
{
    var sw = Stopwatch.StartNew();
    var data = ml.Data.LoadFromEnumerable(rows);
    var chain = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(options)).Fit(data);
    Console.WriteLine($"trained {options.ModelSize} on {rows.Count} rows in {sw.Elapsed.TotalSeconds:F1} s");
    return chain.LastTransformer;
}

void Measure(string name, GwtTextClassificationTransformer torchModel, List<Email> rowsToScore, bool checkLabels, int? singleRows = null)
{
    var folder = Path.Combine(work, Guid.NewGuid().ToString("N"));
    var sw = Stopwatch.StartNew();
    torchModel.ExportForOnnxScoring(folder);
    Console.WriteLine($"{name}: exported in {sw.Elapsed.TotalSeconds:F1} s, model.onnx {new FileInfo(Path.Combine(folder, "model.onnx")).Length / 1e6:F1} MB");
    var folderInt8 = folder + "-int8";
    torchModel.ExportForOnnxScoring(folderInt8, GwtOnnxQuantization.DynamicInt8);
    Console.WriteLine($"{name}: int8 model.onnx {new FileInfo(Path.Combine(folderInt8, "model.onnx")).Length / 1e6:F1} MB");
    using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, folder);
    using var onnxInt8 = GwtOnnxTextClassificationTransformer.Load(ml, folderInt8);
    var engines = new (string Name, ITransformer Model)[] { ("TorchSharp", torchModel), ("ONNX Runtime", onnx), ("ONNX Runtime int8", onnxInt8) };
    var batched = rowsToScore.Take(rows).ToList();
    var data = ml.Data.LoadFromEnumerable(batched);
    int n = singleRows ?? single;
    var results = engines.ToDictionary(e => e.Name, _ => (Rps: new List<double>(), P50: new List<double>(), P99: new List<double>()));
    foreach (var (_, model) in engines)
    {
        model.Transform(ml.Data.LoadFromEnumerable(batched.Take(32))).GetColumn<float[]>("Score").ToList(); // warm-up
    }
    for (int r = 0; r < rounds; r++)
    {
        foreach (var (engineName, model) in engines)
        {
            sw.Restart();
            int count = model.Transform(data).GetColumn<float[]>("Score").Count();
            results[engineName].Rps.Add(count / sw.Elapsed.TotalSeconds);
            var engine = ml.Model.CreatePredictionEngine<Email, Scored>(model);
            engine.Predict(batched[0]);
            var latencies = new List<double>(n);
            for (int i = 0; i < n; i++)
            {
                sw.Restart();
                engine.Predict(batched[i % batched.Count]);
                latencies.Add(sw.Elapsed.TotalMilliseconds);
            }
            latencies.Sort();
            results[engineName].P50.Add(latencies[(int)(0.50 * (n - 1))]);
            results[engineName].P99.Add(latencies[(int)Math.Ceiling(0.99 * (n - 1))]);
            Console.WriteLine($"  round {r + 1} {engineName}: {results[engineName].Rps[^1]:F1} rows/s, p50 {results[engineName].P50[^1]:F2} ms, p99 {results[engineName].P99[^1]:F2} ms");
        }
    }
    double Median(List<double> v) => v.OrderBy(x => x).ElementAt(v.Count / 2);
    foreach (var (engineName, _) in engines)
    {
        var m = results[engineName];
        table.Add($"| {name} | {engineName} | {Median(m.Rps):F1} | {Median(m.P50):F2} | {Median(m.P99):F2} |");
    }
    foreach (var other in new[] { "ONNX Runtime", "ONNX Runtime int8" })
    {
        Console.WriteLine($"  {other} / TorchSharp: batched throughput {Median(results[other].Rps) / Median(results["TorchSharp"].Rps):F2}x, " +
            $"p99 {Median(results[other].P99) / Median(results["TorchSharp"].P99):F2}x");
    }
    if (checkLabels)
    {
        var all = ml.Data.LoadFromEnumerable(rowsToScore);
        var torchScores = torchModel.Transform(all).GetColumn<float[]>("Score").ToArray();
        var labels = torchModel.LabelNames!;
        double Accuracy(float[][] scores) => 100.0 * scores.Select((s, i) => labels[ArgMax(s)] == rowsToScore[i].Label).Count(c => c) / rowsToScore.Count;
        Console.WriteLine($"  full test split ({rowsToScore.Count} rows): accuracy TorchSharp {Accuracy(torchScores):F2}%");
        foreach (var (engineName, model) in engines.Skip(1))
        {
            var scores = model.Transform(all).GetColumn<float[]>("Score").ToArray();
            int agree = torchScores.Zip(scores).Count(p => ArgMax(p.First) == ArgMax(p.Second));
            double maxDiff = torchScores.Zip(scores).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
            Console.WriteLine($"  {engineName}: accuracy {Accuracy(scores):F2}%, predicted labels agree with TorchSharp on {agree}/{rowsToScore.Count}, max |Δp| {maxDiff:E2}");
        }
    }
}

static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());

static (List<Email> Train, List<Email> Test) LoadSpam(string path)
{
    using var file = File.OpenRead(path);
    using var reader = new StreamReader(new GZipStream(file, CompressionMode.Decompress));
    var header = (reader.ReadLine() ?? "").Split('\t');
    int label = Array.IndexOf(header, "Label"), text = Array.IndexOf(header, "Text"), split = Array.IndexOf(header, "Split");
    var train = new List<Email>();
    var test = new List<Email>();
    string? line;
    while ((line = reader.ReadLine()) is not null)
    {
        var f = line.Split('\t');
        var row = new Email { Label = f[label], Text = f[text] };
        (f[split] == "test" ? test : f[split] == "train" ? train : null)?.Add(row);
    }
    return (train, test);
}

sealed class Email
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

sealed class Scored
{
    public float[] Score { get; set; } = Array.Empty<float>();
}
