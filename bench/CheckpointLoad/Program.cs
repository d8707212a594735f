// Checkpoint loading benchmark: a random BERT-base-sized classifier checkpoint (config.json + model.safetensors, F32,
// about 438 MB) is written to a temporary folder, then we time (median of --repeats runs, after one warm-up so the file
// is in the page cache for every measurement):
//   read  : reading the file once, sequentially, into a 16 MB buffer (the floor for any loader);
//   load  : CheckpointLoader.LoadClassifier into an already built model (tensor by tensor, straight into the parameters);
//   build : constructing the model (random initialization), for reference;
//   dict  : the previous path, SafeTensors.Load (every tensor in memory) then a copy into the model.
//   bin   : with --bin FOLDER, LoadClassifier from FOLDER's pytorch_model.bin (the same weights saved by torch.save,
//           e.g. by TestData/checkpoints/make_bin_checkpoints.py's --from-safetensors; read weights-only).
//   dotnet run --project bench/CheckpointLoad -c Release -- [--repeats 5] [--layers 12] [--keep FOLDER] [--bin FOLDER]
using Microsoft.ML.Gwt.Core.Modeling;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using static TorchSharp.torch;

int repeats = 5, layers = 12;
string? keep = null, binFolder = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--repeats": repeats = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--layers": layers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--keep": keep = args[++i]; break;
        case "--bin": binFolder = args[++i]; break;
    }
}

var config = TransformerConfig.Base();
config.NumHiddenLayers = layers;
var folder = keep ?? Directory.CreateTempSubdirectory("gwt-load-bench-").FullName;
Directory.CreateDirectory(folder);
var weights = Path.Combine(folder, "model.safetensors");
File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
manual_seed(1);
using (var source = new TextClassificationModel(config, 2))
{
    SafeTensors.Save(weights, source.state_dict());
}
long fileBytes = new FileInfo(weights).Length;
Console.WriteLine($"Checkpoint: {layers} layers x {config.HiddenSize}, {fileBytes / 1e6:F1} MB F32 at {weights}");
Console.WriteLine($"torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} logical CPUs");

double ReadOnce()
{
    var buffer = new byte[16 << 20];
    var sw = Stopwatch.StartNew();
    using var stream = new FileStream(weights, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    while (stream.Read(buffer, 0, buffer.Length) > 0)
    {
    }
    return sw.Elapsed.TotalSeconds;
}

double Build(out TextClassificationModel model)
{
    var sw = Stopwatch.StartNew();
    model = new TextClassificationModel(config, 2);
    return sw.Elapsed.TotalSeconds;
}

double Load(TextClassificationModel model, string from)
{
    var sw = Stopwatch.StartNew();
    var report = CheckpointLoader.LoadClassifier(model, from);
    double s = sw.Elapsed.TotalSeconds;
    if (report.Missing.Count > 0 || report.Unexpected.Count > 0 || report.ReinitializedHead)
    {
        throw new InvalidOperationException("Unexpected load report: " + report);
    }
    return s;
}

double LoadThroughDictionary(TextClassificationModel model)
{
    var sw = Stopwatch.StartNew();
    var all = SafeTensors.Load(weights);
    CheckpointLoader.Load(model, all, model.EncoderPrefix, weights);
    foreach (var t in all.Values)
    {
        t.Dispose();
    }
    return sw.Elapsed.TotalSeconds;
}

static double Median(List<double> xs)
{
    xs.Sort();
    return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
}

ReadOnce(); // warm the page cache
var read = new List<double>();
var load = new List<double>();
var build = new List<double>();
var dict = new List<double>();
var bin = new List<double>();
for (int r = 0; r < repeats + 1; r++)
{
    double b = Build(out var model);
    using (model)
    {
        double rd = ReadOnce();
        double ld = Load(model, folder);
        double bn = binFolder is null ? 0 : Load(model, binFolder);
        double dc = LoadThroughDictionary(model);
        if (r > 0)
        {
            read.Add(rd);
            load.Add(ld);
            build.Add(b);
            dict.Add(dc);
            bin.Add(bn);
        }
    }
}

double readS = Median(read), loadS = Median(load), buildS = Median(build), dictS = Median(dict);
Console.WriteLine($"| measurement (median of {repeats}) | seconds | MB/s | vs reading the file |");
Console.WriteLine("|---|---|---|---|");
void Row(string name, double s) =>
    Console.WriteLine($"| {name} | {s:F3} | {fileBytes / 1e6 / s:F0} | {s / readS:F2} |");
Row("read the file once (16 MB buffer)", readS);
Row("LoadClassifier into a built model", loadS);
Row("previous path: SafeTensors.Load + copy", dictS);
if (binFolder is not null)
{
    Row("LoadClassifier from pytorch_model.bin (same weights)", Median(bin));
}
Row("build the model (random init), for reference", buildS);
Console.WriteLine($"RATIO load/read = {loadS / readS:F2}");
if (keep is null)
{
    Directory.Delete(folder, recursive: true);
}
