// End-to-end fine-tuning benchmark of a BERT-base-sized classifier (random init, random token ids): forward, backward
// and optimizer step, GWT-Adam against AdamW, each in its own child process so that peak memory (VmHWM) is clean.
//   dotnet run --project bench/EndToEnd -c Release -- [--steps 200] [--batch 8] [--tokens 128] [--layers 12] [--level 2]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

int steps = 200, batch = 8, tokens = 128, layers = 12, level = 2;
string? child = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--tokens": tokens = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--layers": layers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--level": level = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--child": child = args[++i]; break;
    }
}

if (child is not null)
{
    var config = TransformerConfig.Base();
    config.NumHiddenLayers = layers;
    manual_seed(1);
    using var model = new TextClassificationModel(config, 3);
    model.train();
    using var optimizer = GwtAdam.Create(model.named_parameters(), new GwtAdamOptions { LearningRate = 2e-5, WeightDecay = 0.01, Level = level },
        child == "gwt" ? GwtTargets.EncoderLinearWeights : (_, _) => false);
    var rng = new Random(2);
    double seconds = 0;
    int warmup = Math.Min(2, steps - 1);
    for (int s = 0; s < steps; s++)
    {
        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var ids = randint(1000, config.VocabSize, new long[] { batch, tokens });
        var mask = ones(batch, tokens, ScalarType.Int64);
        var labels = randint(0, 3, new long[] { batch });
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.Forward(ids, mask), labels);
        loss.backward();
        optimizer.step();
        if (s >= warmup)
        {
            seconds += sw.Elapsed.TotalSeconds;
        }
    }
    var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    long peakKb = long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    Console.WriteLine(string.Join(" ", "RESULT", child, (batch * (steps - warmup) / seconds).ToString("R", CultureInfo.InvariantCulture),
        peakKb.ToString(CultureInfo.InvariantCulture), optimizer.StateBytes.ToString(CultureInfo.InvariantCulture)));
    return;
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores; BERT-base-sized classifier ({layers} layers x 768, vocab 30522), batch {batch} x {tokens} tokens, {steps} steps (first {Math.Min(2, steps - 1)} not timed), GWT level {level}");
var results = new Dictionary<string, (double ExamplesPerSecond, double PeakMb, double StateMb)>();
foreach (var kind in new[] { "adamw", "gwt" })
{
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        psi.ArgumentList.Add(typeof(GwtAdam).Assembly.Location.Replace("Microsoft.ML.Gwt.dll", "EndToEnd.dll"));
    }
    foreach (var a in args)
    {
        psi.ArgumentList.Add(a);
    }
    psi.ArgumentList.Add("--child");
    psi.ArgumentList.Add(kind);
    using var p = Process.Start(psi)!;
    var line = p.StandardOutput.ReadToEnd().Split('\n').First(l => l.StartsWith("RESULT", StringComparison.Ordinal)).Split(' ');
    p.WaitForExit();
    results[kind] = (double.Parse(line[2], CultureInfo.InvariantCulture), long.Parse(line[3], CultureInfo.InvariantCulture) / 1024.0,
        long.Parse(line[4], CultureInfo.InvariantCulture) / 1048576.0);
}
var (g, a2) = (results["gwt"], results["adamw"]);
Console.WriteLine($"{"",-22} {"AdamW",10} {"GWT",10} {"GWT/AdamW",10}");
Console.WriteLine($"{"examples / s",-22} {a2.ExamplesPerSecond,10:F2} {g.ExamplesPerSecond,10:F2} {g.ExamplesPerSecond / a2.ExamplesPerSecond,10:F3}");
Console.WriteLine($"{"peak RSS (MB)",-22} {a2.PeakMb,10:F0} {g.PeakMb,10:F0} {g.PeakMb / a2.PeakMb,10:F3}");
Console.WriteLine($"{"optimizer state (MB)",-22} {a2.StateMb,10:F0} {g.StateMb,10:F0} {g.StateMb / a2.StateMb,10:F3}");
double saved = a2.StateMb - g.StateMb, peakSaved = a2.PeakMb - g.PeakMb;
Console.WriteLine($"state saved {saved:F0} MB; peak memory lower by {peakSaved:F0} MB = {peakSaved / saved:P0} of the state saved");
