using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>The training loop's options, observed through the session's test hooks on the tiny BERT checkpoint.</summary>
[TestClass]
public sealed class TrainingLoopTests
{
    private static readonly Lazy<string> NoDropout = new(() =>
    {
        var folder = Directory.CreateTempSubdirectory("gwt-bert-tiny-nodropout-").FullName;
        foreach (var file in Directory.GetFiles(EncoderParityTests.Checkpoint("bert-tiny")))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        config["hidden_dropout_prob"] = 0.0;
        config["attention_probs_dropout_prob"] = 0.0;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        return folder;
    });

    /// <summary>The tiny BERT checkpoint with dropout off, so that gradients depend only on the rows.</summary>
    internal static string NoDropoutCheckpoint => NoDropout.Value;

    private static List<Pair> Pairs(int rows) => Enumerable.Range(0, rows).Select(i => new Pair
    {
        Label = i % 2 == 0 ? "same" : "different",
        First = i % 3 == 0 ? "the cat sat on the mat" : i % 2 == 0 ? "the cat sat" : "hello world !",
        Second = i % 2 == 0 ? "the cat sat" : "the dog runs",
    }).ToList();

    internal static (MLContext Ml, IDataView Data) PairData(int rows)
    {
        var (ml, train, _) = PairDataWithConstantAccuracyValidation(rows);
        return (ml, train);
    }

    /// <summary>Training pairs (optionally in reverse order, keyed by the same mapping) and a validation set of one text
    /// pair twice, once with each label: its accuracy is exactly 0.5 whatever the weights.</summary>
    internal static (MLContext Ml, IDataView Train, IDataView Validation) PairDataWithConstantAccuracyValidation(int rows, bool reversed = false)
    {
        var ml = new MLContext(1);
        var pairs = Pairs(rows);
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(pairs));
        if (reversed)
        {
            pairs.Reverse();
        }
        var validation = new[] { "same", "different" }.Select(l => new Pair { Label = l, First = "the cat sat", Second = "hello world !" }).ToList();
        return (ml, map.Transform(ml.Data.LoadFromEnumerable(pairs)), map.Transform(ml.Data.LoadFromEnumerable(validation)));
    }

    internal static GwtTextClassificationTrainer.Options Options() => new()
    {
        Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
        Sentence1ColumnName = "First", Sentence2ColumnName = "Second", PretrainedModelPath = NoDropoutCheckpoint,
        MaxEpochs = 1, BatchSize = 10, MaxSequenceLength = 16, LearningRate = 1e-2, Seed = 5, LogEverySteps = 1000,
    };

    internal static GwtTextClassificationTransformer Train(MLContext ml, IDataView data, GwtTextClassificationTrainer.Options o,
        Action<OptimizerStepInfo>? beforeStep = null, Action<ValidationInfo>? afterValidation = null)
    {
        // The caller's other hooks (AfterStep, PoisonStep) are kept.
        o.EngineHooks = o.EngineHooks with { BeforeOptimizerStep = beforeStep, AfterValidation = afterValidation };
        return ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
    }

    internal static Dictionary<string, float[]> Weights(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());

    private static Dictionary<string, float[]> Gradients(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.cpu().data<float>().ToArray());

    private static double GlobalNorm(nn.Module model) =>
        Math.Sqrt(Gradients(model).Values.SelectMany(g => g).Sum(v => (double)v * v));

    [TestMethod]
    public void AccumulatedGradientsEqualOneBatchOfAllTheRowsWhenTheLastBatchIsShort()
    {
        // 10 rows: batches of 4, 4 and 2 accumulated into one step must give the gradient of one batch of 10.
        var (ml, data) = PairData(10);
        Dictionary<string, float[]>? accumulated = null, whole = null;
        int accumulatedRows = 0;
        var o = Options();
        o.GradientClipNorm = 0;
        o.BatchSize = 4;
        o.GradientAccumulationSteps = 3;
        Train(ml, data, o, s => { accumulated = Gradients(s.Model); accumulatedRows = s.Rows; });
        o.BatchSize = 10;
        o.GradientAccumulationSteps = 1;
        Train(ml, data, o, s => whole = Gradients(s.Model));

        Assert.AreEqual(10, accumulatedRows);
        Assert.IsNotNull(accumulated);
        Assert.IsNotNull(whole);
        CollectionAssert.AreEquivalent(whole.Keys.ToList(), accumulated.Keys.ToList());
        double worst = 0, scale = 0;
        foreach (var (name, g) in whole)
        {
            for (int i = 0; i < g.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(g[i] - accumulated[name][i]));
                scale = Math.Max(scale, Math.Abs(g[i]));
            }
        }
        Console.WriteLine($"largest gradient difference {worst:E2} (largest gradient {scale:E2})");
        Assert.IsGreaterThan(1e-3, scale, "the gradient is not trivially zero");
        Assert.IsLessThan(1e-4 * scale, worst, $"accumulated vs single batch: {worst:E2} of {scale:E2}");
    }

    [TestMethod]
    public void LearningRateFollowsWarmupAndLinearDecayWithTheLastStepAboveZero()
    {
        var (ml, data) = PairData(10);
        var o = Options();
        o.BatchSize = 1; // 10 steps
        o.WarmupFraction = 0.2; // 2 warm-up steps
        var lrs = new List<(long Step, double Lr)>();
        var progress = new List<double>();
        o.Progress = p => progress.Add(p.LearningRate);
        Train(ml, data, o, s => lrs.Add((s.Step, s.LearningRate)));
        var expected = new[] { 0, 0.5, 1, 7 / 8.0, 6 / 8.0, 5 / 8.0, 4 / 8.0, 3 / 8.0, 2 / 8.0, 1 / 8.0 }.Select(f => f * 1e-2).ToArray();
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => (long)i).ToArray(), lrs.Select(l => l.Step).ToArray());
        for (int k = 0; k < 10; k++)
        {
            Assert.AreEqual(expected[k], lrs[k].Lr, 1e-15, $"step {k}");
            Assert.AreEqual(expected[k], progress[k], 1e-15, $"progress of step {k}");
        }
    }

    [TestMethod]
    public void AOneStepRunChangesTheWeights()
    {
        var (ml, data) = PairData(10);
        var o = Options(); // one batch of 10, one epoch: one optimizer step
        Dictionary<string, float[]>? before = null;
        double lr = -1;
        var model = Train(ml, data, o, s => { before = Weights(s.Model); lr = s.LearningRate; });
        Assert.AreEqual(1, model.TrainingResult!.Steps);
        Assert.AreEqual(1e-2, lr, "a one-step run trains at the peak learning rate");
        var after = Weights(model.Model);
        var changed = before!.Count(kv => !kv.Value.SequenceEqual(after[kv.Key]));
        Assert.IsGreaterThan(before!.Count / 2, changed, $"{changed} of {before!.Count} parameters changed");
    }

    [TestMethod]
    public void GradientClipNormBoundsTheAppliedGradientAndZeroTurnsClippingOff()
    {
        var (ml, data) = PairData(10);
        var o = Options();
        o.GradientClipNorm = 1e-3;
        double pre = 0, post = 0;
        Train(ml, data, o, s => { pre = s.GradientNorm; post = GlobalNorm(s.Model); });
        Assert.IsGreaterThan(1e-2, pre, $"the unclipped norm {pre} is above the limit");
        Assert.AreEqual(1e-3, post, 1e-3 * 1e-3, "clipped to the limit");

        o.GradientClipNorm = 0;
        Train(ml, data, o, s => { pre = s.GradientNorm; post = GlobalNorm(s.Model); });
        Assert.AreEqual(pre, post, pre * 1e-5, "0 leaves the gradient as it is");
        Assert.IsGreaterThan(1e-2, post);

        foreach (var bad in new[] { -1.0, double.NaN, double.PositiveInfinity })
        {
            var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
                ml.MulticlassClassification.Trainers.Gwt(new GwtTextClassificationTrainer.Options { GradientClipNorm = bad }));
            StringAssert.Contains(ex.Message, "GradientClipNorm");
        }
    }

    [TestMethod]
    public void GwtTargetSelectorChoosesTheCompressedParameters()
    {
        var (ml, data) = PairData(10);
        long Compressed(GwtTextClassificationTrainer.Options o)
        {
            long count = -1;
            o.EngineHooks = new TrainingEngineHooks { AfterStep = (_, opt) => count = opt.CompressedParameterCount };
            ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
            return count;
        }
        var o = Options();
        o.GwtLevel = 1;
        var model = Train(ml, data, o);
        var named = model.Model.named_parameters().ToList();
        long Elements(Func<string, bool> pick) => named.Where(p => pick(p.name)).Sum(p => p.parameter.numel());

        long queries = Elements(n => n.EndsWith("attention.self.query.weight", StringComparison.Ordinal));
        long encoderLinear = Elements(n => n.Contains("encoder.layer.") && n.EndsWith(".weight") && !n.Contains("LayerNorm"));
        Assert.IsGreaterThan(0L, queries);
        Assert.AreEqual(encoderLinear, Compressed(o), "default: the encoder layers' Linear weights");
        o.GwtTargetSelector = GwtTargets.ByModuleName("query");
        Assert.AreEqual(queries, Compressed(o), "only the query weights");
        o.GwtTargetSelector = (name, _) => false;
        Assert.AreEqual(0L, Compressed(o), "nothing selected");
    }

    [TestMethod]
    public void FitLeavesTheCallersRandomStateWhereItWas()
    {
        var (ml, data) = PairData(10);
        torch.random.manual_seed(123);
        using var first = torch.rand(6);
        var expected = first.data<float>().ToArray();
        torch.random.manual_seed(123);
        Train(ml, data, Options());
        using var next = torch.rand(6);
        CollectionAssert.AreEqual(expected, next.data<float>().ToArray(), "Fit must not reseed the caller's generator");
    }
}
