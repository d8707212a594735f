// Times one optimizer step() on BERT-base-shaped parameters, all variants in one process, and prints ratios.
//   dotnet run --project bench/OptimizerStep -c Release -- [--repeats N] [--layers N]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

int repeats = 5, layers = 12;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--repeats") repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--layers") layers = int.Parse(args[++i], CultureInfo.InvariantCulture);
}

// BERT-base: per layer 4 x 768x768 (q, k, v, attention output) + 768x3072 + 3072x768, biases and LayerNorms;
// plus a 30522x768 word embedding, 512x768 positions, 2x768 token types and the embedding LayerNorm.
var named = new List<(string Name, Parameter P)>();
manual_seed(0);
void Add(string name, params long[] shape) => named.Add((name, new Parameter(randn(shape) * 0.02f)));
Add("embeddings.word_embeddings.weight", 30522, 768);
Add("embeddings.position_embeddings.weight", 512, 768);
Add("embeddings.token_type_embeddings.weight", 2, 768);
Add("embeddings.LayerNorm.weight", 768);
Add("embeddings.LayerNorm.bias", 768);
for (int l = 0; l < layers; l++)
{
    string p = $"encoder.layer.{l}.";
    foreach (var m in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
    {
        Add(p + m + ".weight", 768, 768);
        Add(p + m + ".bias", 768);
    }
    Add(p + "attention.output.LayerNorm.weight", 768);
    Add(p + "attention.output.LayerNorm.bias", 768);
    Add(p + "intermediate.dense.weight", 3072, 768);
    Add(p + "intermediate.dense.bias", 3072);
    Add(p + "output.dense.weight", 768, 3072);
    Add(p + "output.dense.bias", 768);
    Add(p + "output.LayerNorm.weight", 768);
    Add(p + "output.LayerNorm.bias", 768);
}
foreach (var (_, p) in named)
{
    p.grad = randn(p.shape) * 1e-3f;
}
var parameters = named.Select(n => n.P).ToList();
long total = parameters.Sum(p => p.numel());
long targeted = named.Where(n => GwtTargets.EncoderLinearWeights(n.Name, n.P)).Sum(n => n.P.numel());
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, torch threads {torch.get_num_threads()}");
Console.WriteLine($"Parameters: {total / 1e6:F1} M, GWT-targeted {targeted / 1e6:F1} M; median of {repeats} steps after 1 warm-up step");

double Time(Action step)
{
    step();
    var times = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        var sw = Stopwatch.StartNew();
        step();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

var rows = new List<(string Name, double Ms, long StateBytes)>();
using (no_grad())
{
    // The floor: one pass p += c * g over every parameter (read p and g, write p).
    rows.Add(("floor: p += c*g", Time(() => { foreach (var p in parameters) p.add_(p.grad!, alpha: -1e-6); }), 0));
}
using (var adamw = optim.AdamW(parameters, lr: 1e-6, weight_decay: 0.01))
{
    rows.Add(("TorchSharp AdamW", Time(() => adamw.step()), 2L * total * 4));
}
using (var fusedAdamW = GwtAdam.Create(named, new GwtAdamOptions { LearningRate = 1e-6, WeightDecay = 0.01 }, (_, _) => false))
{
    rows.Add(("GwtAdam, nothing targeted (fused AdamW)", Time(() => fusedAdamW.step()), fusedAdamW.StateBytes));
}
foreach (int level in new[] { 1, 2, 3 })
{
    using var gwt = GwtAdam.Create(named, new GwtAdamOptions { LearningRate = 1e-6, WeightDecay = 0.01, Level = level });
    rows.Add(($"GwtAdam level {level} (fused CPU)", Time(() => gwt.step()), gwt.StateBytes));
}
using (var all = GwtAdam.Create(named, new GwtAdamOptions { LearningRate = 1e-6, WeightDecay = 0.01, Level = 2 }, GwtTargets.AllMatrices))
{
    rows.Add(("GwtAdam level 2, all matrices (+embeddings)", Time(() => all.step()), all.StateBytes));
}
using (var tensorPath = GwtAdam.Create(named, new GwtAdamOptions { LearningRate = 1e-6, WeightDecay = 0.01, Level = 2 }))
{
    tensorPath.UseFusedCpuKernels = false;
    rows.Add(("GwtAdam level 2 (tensor ops, GPU path)", Time(() => tensorPath.step()), tensorPath.StateBytes));
}

double floor = rows[0].Ms, adam = rows[1].Ms;
long adamState = rows[1].StateBytes;
Console.WriteLine();
Console.WriteLine($"{"optimizer",-42} {"step ms",9} {"vs AdamW",9} {"vs floor",9} {"state MB",9} {"state vs AdamW",15}");
foreach (var (name, ms, state) in rows)
{
    Console.WriteLine($"{name,-42} {ms,9:F1} {ms / adam,9:F3} {ms / floor,9:F2} {state / 1048576.0,9:F1} {(state == 0 ? "-" : (state / (double)adamState).ToString("F3", CultureInfo.InvariantCulture)),15}");
}
Console.WriteLine($"\nTargeted weights only: GWT level l keeps 1/2^l of AdamW's moments (level 2: {2.0 * targeted * 4 / 4 / 1048576:F1} MB instead of {2.0 * targeted * 4 / 1048576:F1} MB).");
