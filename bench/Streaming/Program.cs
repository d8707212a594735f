// Streaming Fit benchmarks (issue 13), run on demand, not in CI:
//   first-step [--rows 10000,100000,1000000] [--models bert-tiny,scratch] [--unknown-count]
//                                             time to the first optimizer step and process RSS there, for lazily
//                                             generated IDataViews (each size in a fresh child process); --unknown-count:
//                                             the views do not report their row count, so Fit scans them first
//   throughput [--rounds 2] [--epochs 2] [--train-rows N] [--max-tokens 128] [--variants old,new]
//                                             examples/s and test accuracy on the SpamAssassin sample data, the variants
//                                             interleaved round by round in the same process: old (rows in memory, no
//                                             length grouping, no producer thread), new (the defaults: the producer only
//                                             where a core is free for it), prefetch-only (4 batches prefetched, no
//                                             grouping), grouping-only (no producer), grouping-prefetch (both);
//                                             first prints the padded tokens per epoch with and without length grouping
//                                             (the bound on what grouping can save at this length)
//   soak [--steps 3000]                        RSS every 100 steps of a long streamed run
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Gwt.Trainers;
using Streaming;

var mode = args.Length > 0 ? args[0] : "help";
string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var repo = FindRepo();
var bertTiny = Path.Combine(repo, "tests", "Microsoft.ML.Gwt.Tests", "TestData", "checkpoints", "bert-tiny");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, torch threads {TorchSharp.torch.get_num_threads()}");

switch (mode)
{
    case "first-step":
        foreach (var model in Arg("--models", "bert-tiny,scratch").Split(','))
        {
            foreach (var rows in Arg("--rows", "10000,100000,1000000").Split(',').Select(long.Parse))
            {
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
                {
                    psi.ArgumentList.Add(typeof(SyntheticTextDataView).Assembly.Location);
                }
                foreach (var a in new[] { "child-first-step", rows.ToString(CultureInfo.InvariantCulture), model, args.Contains("--unknown-count") ? "unknown" : "reported" })
                {
                    psi.ArgumentList.Add(a);
                }
                using var child = Process.Start(psi)!;
                var output = child.StandardOutput.ReadToEnd();
                child.WaitForExit();
                Console.WriteLine(output.Split('\n').LastOrDefault(l => l.StartsWith("first-step", StringComparison.Ordinal)) ?? output);
            }
        }
        break;
    case "child-first-step":
        FirstStep(long.Parse(args[1], CultureInfo.InvariantCulture), args[2] == "scratch" ? null : bertTiny, args[3] == "reported");
        break;
    case "throughput":
        Throughput(int.Parse(Arg("--rounds", "2"), CultureInfo.InvariantCulture), int.Parse(Arg("--epochs", "2"), CultureInfo.InvariantCulture),
            int.Parse(Arg("--train-rows", "0"), CultureInfo.InvariantCulture), int.Parse(Arg("--max-tokens", "128"), CultureInfo.InvariantCulture),
            Arg("--variants", "old,new").Split(','));
        break;
    case "soak":
        Soak(int.Parse(Arg("--steps", "3000"), CultureInfo.InvariantCulture));
        break;
    default:
        Console.WriteLine("usage: Streaming first-step|throughput|soak [options] (see the comment at the top of Program.cs)");
        break;
}

static string FindRepo()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gwt.sln")))
    {
        dir = dir.Parent;
    }
    return dir?.FullName ?? throw new DirectoryNotFoundException("Run from inside the repository (Gwt.sln not found above the binary).");
}

static double RssMiB()
{
    using var p = Process.GetCurrentProcess();
    p.Refresh();
    return p.WorkingSet64 / 1048576.0;
}

void FirstStep(long rows, string? pretrained, bool reportRowCount)
{
    var ml = new MLContext(seed: 1);
    var data = new SyntheticTextDataView(rows, reportRowCount);
    var clock = Stopwatch.StartNew();
    if (Environment.GetEnvironmentVariable("STREAMING_BENCH_LOG") == "1")
    {
        ml.Log += (_, e) =>
        {
            if (e.Source.Contains("Gwt", StringComparison.Ordinal))
            {
                Console.WriteLine($"{clock.Elapsed.TotalSeconds,8:F2} s {e.Message}");
            }
        };
    }
    using var cts = new CancellationTokenSource();
    double seconds = 0, rss = 0, cpu = 0;
    var o = new GwtTextClassificationTrainer.Options
    {
        Sentence1ColumnName = "Text", PretrainedModelPath = pretrained, BatchSize = 32, MaxEpochs = 1, MaxSequenceLength = 32,
        LearningRate = 1e-3, Seed = 1, LogEverySteps = int.MaxValue, CancellationToken = cts.Token,
        Progress = p =>
        {
            if (p.Step == 1 && seconds == 0)
            {
                seconds = clock.Elapsed.TotalSeconds;
                rss = RssMiB();
                using var self = Process.GetCurrentProcess();
                cpu = self.TotalProcessorTime.TotalSeconds;
                cts.Cancel();
            }
        },
    };
    try
    {
        ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
    }
    catch (OperationCanceledException)
    {
    }
    Console.WriteLine($"first-step rows {rows} ({(reportRowCount ? "count reported" : "count unknown")}) model {(pretrained is null ? "Tiny from scratch" : "bert-tiny")}: {seconds:F2} s wall, {cpu:F2} s CPU (process, all threads), RSS {rss:F0} MiB");
}

List<(string Label, string Split, string Text)> LoadSpam()
{
    var path = Path.Combine(repo, "data", "spamassassin", "spamassassin.tsv.gz");
    using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    reader.ReadLine();
    var rows = new List<(string, string, string)>();
    string? line;
    while ((line = reader.ReadLine()) is not null)
    {
        var f = line.Split('\t', 3);
        rows.Add((f[0], f[1], f[2]));
    }
    return rows;
}

void Throughput(int rounds, int epochs, int trainRows, int maxTokens, string[] variants)
{
    var all = LoadSpam();
    var ml = new MLContext(seed: 42);
    var train = all.Where(r => r.Split == "train").Select(r => new Email { Label = r.Label, Text = r.Text }).ToList();
    if (trainRows > 0)
    {
        int every = Math.Max(1, train.Count / trainRows); // every k-th row: all classes in their proportions
        train = train.Where((_, i) => i % every == 0).Take(trainRows).ToList();
    }
    var test = all.Where(r => r.Split == "test").Select(r => new Email { Label = r.Label, Text = r.Text }).ToList();
    var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
    var trainView = map.Transform(ml.Data.LoadFromEnumerable(train));
    var testView = map.Transform(ml.Data.LoadFromEnumerable(test));
    Console.WriteLine($"SpamAssassin: {train.Count} train rows, {test.Count} test rows; Tiny from scratch, {epochs} epoch(s), batch 32, {maxTokens} tokens");
    PaddingBound(train.Select(e => e.Text).ToList(), maxTokens, new GwtTextClassificationTrainer.Options().LengthGroupingWindow);
    var runs = new List<(string Name, double ExamplesPerSecond, double Wall, double Accuracy)>();
    for (int round = 0; round < rounds; round++)
    {
        foreach (var variant in variants)
        {
            var o = new GwtTextClassificationTrainer.Options
            {
                Sentence1ColumnName = "Text", BatchSize = 32, MaxEpochs = epochs, Seed = 42, LogEverySteps = int.MaxValue,
                MaxSequenceLength = maxTokens,
            };
            string name = variant switch
            {
                "old" => "old loop (in memory, no grouping, no producer)",
                "new" => "new loop (defaults: grouped; producer where a core is free)",
                "prefetch-only" => "producer only (no grouping, 4 batches prefetched)",
                "grouping-only" => "grouping only (no producer)",
                "grouping-prefetch" => "grouping and producer (4 batches prefetched)",
                _ => throw new ArgumentException($"--variants: unknown variant '{variant}' (old, new, prefetch-only, grouping-only, grouping-prefetch)"),
            };
            if (variant == "old")
            {
                o.MaxCachedRows = int.MaxValue;
            }
            o.GroupByLength = variant is "new" or "grouping-only" or "grouping-prefetch";
            if (variant != "new")
            {
                o.PrefetchBatches = variant is "prefetch-only" or "grouping-prefetch" ? 4 : 0;
            }
            var clock = Stopwatch.StartNew();
            var model = ml.MulticlassClassification.Trainers.Gwt(o).Fit(trainView);
            double wall = clock.Elapsed.TotalSeconds;
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(testView));
            runs.Add((name, model.TrainingResult!.ExamplesPerSecond, wall, metrics.MicroAccuracy));
            Console.WriteLine($"round {round + 1} {name}: {model.TrainingResult.ExamplesPerSecond:F1} examples/s, Fit {wall:F1} s, test accuracy {metrics.MicroAccuracy:P2}");
        }
    }
    foreach (var g in runs.GroupBy(r => r.Name))
    {
        Console.WriteLine($"mean {g.Key}: {g.Average(r => r.ExamplesPerSecond):F1} examples/s, Fit {g.Average(r => r.Wall):F1} s, accuracy {g.Average(r => r.Accuracy):P2}");
    }
}

// Padded tokens of one epoch in batches of 32, the rows in a random order against sorted by length within windows of
// `window` batches: the share of the forward/backward work that length grouping can remove (token counts do not
// depend on the fitted vocabulary: every cl100k piece is one id, known or not).
static void PaddingBound(List<string> texts, int maxTokens, int window)
{
    var tokenizer = Microsoft.ML.Gwt.Core.Tokenization.FittedTiktokenTokenizer.Fit(texts.Take(2000));
    var lengths = texts.Select(t => tokenizer.Encode(t, null, maxTokens).Ids.Length).ToArray();
    new Random(1).Shuffle(lengths);
    long Padded(IEnumerable<int[]> batches) => batches.Sum(b => (long)b.Max() * b.Length);
    long random = Padded(lengths.Chunk(32));
    long grouped = Padded(lengths.Chunk(32 * window).SelectMany(w => w.OrderByDescending(l => l).Chunk(32)));
    Console.WriteLine($"tokens per epoch: {lengths.Sum(l => (long)l)} real ({lengths.Count(l => l == maxTokens) * 100.0 / lengths.Length:F1}% of rows at the {maxTokens}-token limit), " +
        $"{random} padded in random batches, {grouped} grouped by length: grouping removes {1 - (double)grouped / random:P1} of the padded tokens (ratio {(double)random / grouped:F3})");
}

void Soak(int steps)
{
    var ml = new MLContext(seed: 1);
    var data = new SyntheticTextDataView(steps * 32L);
    var rss = new List<(long Step, double MiB)>();
    var clock = Stopwatch.StartNew();
    var o = new GwtTextClassificationTrainer.Options
    {
        Sentence1ColumnName = "Text", PretrainedModelPath = bertTiny, BatchSize = 32, MaxEpochs = 1, MaxSequenceLength = 32,
        LearningRate = 1e-3, Seed = 1, LogEverySteps = int.MaxValue, MaxCachedRows = 0,
        Progress = p =>
        {
            if (p.Step % 100 == 0)
            {
                GC.Collect();
                rss.Add((p.Step, RssMiB()));
                Console.WriteLine($"step {p.Step}: RSS {rss[^1].MiB:F1} MiB, {clock.Elapsed.TotalSeconds:F0} s");
            }
        },
    };
    ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
    var after = rss.Where(r => r.Step >= 300).ToList();
    double first = after[0].MiB, max = after.Max(r => r.MiB), min = after.Min(r => r.MiB);
    Console.WriteLine($"soak {steps} steps (bert-tiny, streamed): RSS at step 300 {first:F1} MiB, min {min:F1}, max {max:F1}, " +
        $"max/step-300 {max / first:F4}, last {after[^1].MiB:F1} MiB");
}

/// <summary>One email.</summary>
internal sealed class Email
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}
