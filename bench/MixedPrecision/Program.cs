// Mixed-precision benchmark: float32 against bfloat16 (our PrecisionPolicy + float32 master weights), each with GWT-Adam
// and AdamW. Three parts, each configuration in its own child process (clean peak RSS), A/B children interleaved:
//   1. matmul: a 512x768 by 768x3072 product in float32, bfloat16 and float16 (GFLOP/s);
//   2. end-to-end: a BERT-base-width classifier (768 hidden, --layers layers), batch --batch x --tokens, --steps timed
//      steps after one warm-up: examples/s, peak RSS, and the optimizer step's share of the step;
//   3. optimizer step alone on all the parameters of a 12-layer BERT-base classifier with random gradients: float32
//      parameters vs bfloat16 parameters with float32 master weights (the fused one-pass kernels), both in one child,
//      steps alternated so that other load on the machine hits both alike.
//   dotnet run --project bench/MixedPrecision -c Release -- [--layers 12] [--steps 3] [--batch 8] [--tokens 64] [--rounds 1]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

int steps = 3, batch = 8, tokens = 64, layers = 12, rounds = 1;
string? child = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--tokens": tokens = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--layers": layers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--child": child = args[++i]; break;
    }
}
Microsoft.ML.Gwt.Native.TorchSharpNative.EnsureLoadable();
var inv = CultureInfo.InvariantCulture;

if (child is not null)
{
    var parts = child.Split('-'); // kind-precision-optimizer
    var dtype = parts[1] == "bf16" ? ScalarType.BFloat16 : parts[1] == "f16" ? ScalarType.Float16 : ScalarType.Float32;
    switch (parts[0])
    {
        case "matmul":
            Console.WriteLine("RESULT " + string.Join(" ", Matmul(dtype).Select(v => v.ToString("R", inv))));
            break;
        case "e2e":
            Console.WriteLine("RESULT " + string.Join(" ", EndToEnd(dtype, parts[2] == "gwt").Select(v => v.ToString("R", inv))));
            break;
        case "opt":
            Console.WriteLine("RESULT " + string.Join(" ", OptimizerOnly(parts[2] == "gwt").Select(v => v.ToString("R", inv))));
            break;
    }
    return;
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {CpuModel()}; bf16 CPU instructions: {(HasBf16Flags() ? "yes" : "no")}");
Console.WriteLine($"Settings: BERT-base width (768 hidden, 3072 FFN, vocab 30522), {layers} layers, batch {batch} x {tokens} tokens, {steps} timed steps after 1 warm-up; {rounds} round(s), A/B interleaved");

var matmul = new Dictionary<string, List<double[]>>();
var e2e = new Dictionary<string, List<double[]>>();
var opt = new Dictionary<string, List<double[]>>();
for (int r = 0; r < rounds; r++)
{
    foreach (var p in new[] { "f32", "bf16", "f16" })
    {
        Add(matmul, p, Run($"matmul-{p}-x"));
    }
    foreach (var o in new[] { "gwt", "adamw" })
    {
        Add(opt, o, Run($"opt-both-{o}"));
    }
    foreach (var o in new[] { "gwt", "adamw" })
    {
        foreach (var p in new[] { "f32", "bf16" })
        {
            Add(e2e, $"{p}-{o}", Run($"e2e-{p}-{o}"));
        }
    }
}

Console.WriteLine();
Console.WriteLine("matmul 512x768 @ 768x3072 (GFLOP/s, median over rounds)");
foreach (var (k, v) in matmul)
{
    Console.WriteLine($"  {k,-5} {Median(v, 0),8:F1}   ({Median(v, 0) / Median(matmul["f32"], 0):F3}x float32)");
}
Console.WriteLine();
Console.WriteLine("optimizer step alone, 12-layer BERT-base classifier parameters (ms per step, median)");
foreach (var o in new[] { "gwt", "adamw" })
{
    double f = Median(opt[o], 0), b = Median(opt[o], 1);
    Console.WriteLine($"  {o,-6} float32 {f,8:F1}   bfloat16 + float32 masters {b,8:F1}   ({b / f:F3}x)");
}
Console.WriteLine();
Console.WriteLine($"end to end ({layers} layers): examples/s | peak RSS MB | optimizer share of the step");
foreach (var o in new[] { "gwt", "adamw" })
{
    var f = e2e[$"f32-{o}"];
    var b = e2e[$"bf16-{o}"];
    Console.WriteLine($"  {o,-6} float32  {Median(f, 0),8:F3} | {Median(f, 1),8:F0} | {Median(f, 2),6:P1}");
    Console.WriteLine($"  {o,-6} bfloat16 {Median(b, 0),8:F3} | {Median(b, 1),8:F0} | {Median(b, 2),6:P1}   examples/s {Median(b, 0) / Median(f, 0):F4}x float32, peak RSS {Median(b, 1) / Median(f, 1):F3}x");
}
return;

static double Median(List<double[]> runs, int field)
{
    var v = runs.Select(r => r[field]).Order().ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

static void Add(Dictionary<string, List<double[]>> d, string key, double[] value)
{
    if (!d.TryGetValue(key, out var list))
    {
        d[key] = list = new List<double[]>();
    }
    list.Add(value);
}

double[] Run(string kind)
{
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        psi.ArgumentList.Add(typeof(GwtAdam).Assembly.Location.Replace("Microsoft.ML.Gwt.dll", "MixedPrecision.dll"));
    }
    foreach (var a in args)
    {
        psi.ArgumentList.Add(a);
    }
    psi.ArgumentList.Add("--child");
    psi.ArgumentList.Add(kind);
    var clock = Stopwatch.StartNew();
    using var p = Process.Start(psi)!;
    var output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    var line = output.Split('\n').First(l => l.StartsWith("RESULT", StringComparison.Ordinal));
    var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    Console.WriteLine($"  [{DateTime.UtcNow:HH:mm:ss}] {kind}: {string.Join(" ", values.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))} ({clock.Elapsed.TotalSeconds:F0} s)");
    return values;
}

static double[] Matmul(ScalarType dtype)
{
    manual_seed(1);
    using var a = randn(512, 768).to(dtype);
    using var b = randn(768, 3072).to(dtype);
    using (var warm = a.matmul(b))
    {
    }
    int n = dtype == ScalarType.Float32 ? 20 : 2;
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < n; i++)
    {
        using var c = a.matmul(b);
    }
    double s = sw.Elapsed.TotalSeconds / n;
    return new[] { 2.0 * 512 * 768 * 3072 / s / 1e9 };
}

double[] EndToEnd(ScalarType dtype, bool gwt)
{
    var config = TransformerConfig.Base();
    config.NumHiddenLayers = layers;
    manual_seed(1);
    using var model = new TextClassificationModel(config, 3);
    using var policy = PrecisionPolicy.Apply(model, dtype);
    model.train();
    using var optimizer = GwtAdam.Create(model.named_parameters(), new GwtAdamOptions { LearningRate = 2e-5, WeightDecay = 0.01 },
        gwt ? GwtTargets.EncoderLinearWeights : (_, _) => false);
    var rng = new Random(2);
    double seconds = 0, optimizerSeconds = 0;
    for (int s = 0; s <= steps; s++)
    {
        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var ids = randint(1000, config.VocabSize, new long[] { batch, tokens });
        var mask = ones(batch, tokens, ScalarType.Int64);
        var labels = randint(0, 3, new long[] { batch });
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.Forward(ids, mask), labels);
        loss.backward();
        var stepClock = Stopwatch.StartNew();
        optimizer.step();
        if (s > 0)
        {
            optimizerSeconds += stepClock.Elapsed.TotalSeconds;
            seconds += sw.Elapsed.TotalSeconds;
        }
    }
    return new[] { batch * steps / seconds, PeakRssMb(), optimizerSeconds / seconds };
}

static double[] OptimizerOnly(bool gwt)
{
    var runs = new[] { ScalarType.Float32, ScalarType.BFloat16 }.Select(dtype =>
    {
        manual_seed(1);
        var model = new TextClassificationModel(TransformerConfig.Base(), 3);
        model.to(dtype);
        var optimizer = GwtAdam.Create(model.named_parameters(), new GwtAdamOptions { LearningRate = 2e-5, WeightDecay = 0.01 },
            gwt ? GwtTargets.EncoderLinearWeights : (_, _) => false);
        // Gradients through autograd: d/dp sum(p * g) = g, in the parameter's type.
        using (var scope = NewDisposeScope())
        {
            var loss = model.parameters().Select(p => (p * randn_like(p)).sum().to(ScalarType.Float32)).Aggregate((x, y) => x + y);
            loss.backward();
        }
        optimizer.step(); // warm-up (state allocation, JIT)
        return (model, optimizer);
    }).ToList();
    var ms = new double[2];
    int n = 5;
    for (int i = 0; i < n; i++)
    {
        for (int k = 0; k < 2; k++)
        {
            var sw = Stopwatch.StartNew();
            runs[k].optimizer.step();
            ms[k] += sw.Elapsed.TotalMilliseconds / n;
        }
    }
    foreach (var (model, optimizer) in runs)
    {
        optimizer.Dispose();
        model.Dispose();
    }
    return ms;
}

static double PeakRssMb()
{
    var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}

static string CpuModel() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?"
    : "?";

static bool HasBf16Flags() => File.Exists("/proc/cpuinfo") &&
    (File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "")
    .Split(' ').Any(f => f is "avx512_bf16" or "amx_bf16");
