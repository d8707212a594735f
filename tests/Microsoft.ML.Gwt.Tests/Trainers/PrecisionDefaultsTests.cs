using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Runtime;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>
/// The precision default gives the same model on every machine, a float32 run on a bfloat16 CPU says so once, the model
/// records the precision asked for and scoring resolves it where the model is loaded. Both kinds of CPU are simulated
/// (<see cref="PrecisionHardware.SimulateCpu"/>); every run here computes in float32, so no bfloat16 matmul runs on a CPU
/// where it would be slow.
/// </summary>
[TestClass]
public sealed class PrecisionDefaultsTests
{
    private const string FastNotice = "has bfloat16 instructions";

    /// <summary>Trains the tiny pair model with the trainer's default precision (or <paramref name="precision"/>) on a
    /// simulated CPU, and returns it with the log's messages.</summary>
    private static (GwtTextClassificationTransformer Model, List<string> Messages) Train(bool bf16Cpu, GwtPrecision? precision = null)
    {
        using var cpu = PrecisionHardware.SimulateCpu(bf16Cpu);
        var (ml, data) = TrainingLoopTests.PairData(10);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var o = TrainingLoopTests.Options();
        o.Precision = precision ?? new GwtTextClassificationTrainer.Options().Precision;
        o.MaxEpochs = 2;
        o.BatchSize = 5;
        return (TrainingLoopTests.Train(ml, data, o), messages);
    }

    [TestMethod]
    public void TheDefaultIsFloat32AndGivesTheSameModelOnBothKindsOfCpu()
    {
        Assert.AreEqual(GwtPrecision.Float32, new GwtTextClassificationTrainer.Options().Precision);
        var (withBf16, log1) = Train(bf16Cpu: true);
        var (without, log2) = Train(bf16Cpu: false);
        using (withBf16)
        using (without)
        {
            var a = TrainingLoopTests.Weights(withBf16.Model);
            foreach (var (name, w) in TrainingLoopTests.Weights(without.Model))
            {
                CollectionAssert.AreEqual(w, a[name], name);
            }
            Assert.AreEqual(GwtPrecision.Float32, withBf16.ScoringPrecision);
            Assert.AreEqual(ScalarType.Float32, withBf16.ScoringComputeType);
        }
        Assert.IsTrue(log1.Any(m => m.Contains("precision Float32", StringComparison.Ordinal)), string.Join("\n", log1));
    }

    [TestMethod]
    public void AFloat32RunOnABFloat16CpuSaysOnceWhatBFloat16WouldGain()
    {
        var (fast, onBf16) = Train(bf16Cpu: true);
        fast.Dispose();
        var notices = onBf16.Where(m => m.Contains(FastNotice, StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, notices, string.Join("\n", onBf16));
        StringAssert.Contains(notices[0], "2.3-2.7x faster");
        StringAssert.Contains(notices[0], "computes in float32, as asked");

        var (plain, onAvx2) = Train(bf16Cpu: false);
        plain.Dispose();
        Assert.IsFalse(onAvx2.Any(m => m.Contains(FastNotice, StringComparison.Ordinal)), string.Join("\n", onAvx2));
    }

    [TestMethod]
    public void TheModelRecordsAutoAndEachMachineThatLoadsItResolvesIt()
    {
        // Auto trained where bfloat16 is slow: float32 compute, but the model records Auto.
        var (model, log) = Train(bf16Cpu: false, GwtPrecision.Auto);
        Assert.IsTrue(log.Any(m => m.Contains("precision Float32", StringComparison.Ordinal)), string.Join("\n", log));
        var path = Path.Combine(TestCheckpoints.NewFolder(), "auto.zip");
        using (model)
        {
            Assert.AreEqual(GwtPrecision.Auto, model.ScoringPrecision);
            var ml = new MLContext(1);
            ml.Model.Save(model, TrainingLoopTests.PairData(2).Data.Schema, path);
        }
        foreach (var (bf16Cpu, expected) in new[] { (true, ScalarType.BFloat16), (false, ScalarType.Float32) })
        {
            using var cpu = PrecisionHardware.SimulateCpu(bf16Cpu);
            using var loaded = Loaded(new MLContext(2), path);
            Assert.AreEqual(GwtPrecision.Auto, loaded.ScoringPrecision, "the file keeps what was asked");
            Assert.AreEqual(expected, loaded.ScoringComputeType, $"bfloat16 CPU: {bf16Cpu}");
        }
    }

    [TestMethod]
    public void AnExplicitBFloat16ModelLoadedWhereItIsSlowWarnsOnce()
    {
        var (model, _) = Train(bf16Cpu: false);
        var path = Path.Combine(TestCheckpoints.NewFolder(), "bf16.zip");
        using (model)
        {
            model.ScoringPrecision = GwtPrecision.BFloat16;
            new MLContext(1).Model.Save(model, TrainingLoopTests.PairData(2).Data.Schema, path);
        }
        foreach (bool bf16Cpu in new[] { false, true })
        {
            using var cpu = PrecisionHardware.SimulateCpu(bf16Cpu);
            var ml = new MLContext(2);
            var warnings = new List<string>();
            ml.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message); };
            using var loaded = Loaded(ml, path);
            Assert.AreEqual(GwtPrecision.BFloat16, loaded.ScoringPrecision);
            Assert.AreEqual(ScalarType.BFloat16, loaded.ScoringComputeType);
            Assert.AreEqual(ScalarType.BFloat16, loaded.ScoringComputeType);
            var slow = warnings.Where(w => w.Contains("Precision BFloat16 on a CPU without bfloat16 instructions", StringComparison.Ordinal)).ToList();
            Assert.HasCount(bf16Cpu ? 0 : 1, slow, string.Join("\n", warnings));
        }
    }

    private static GwtTextClassificationTransformer Loaded(MLContext ml, string path)
    {
        var file = GwtModelLoader.Load(ml, path, out _);
        return file as GwtTextClassificationTransformer ?? (GwtTextClassificationTransformer)((TransformerChain<ITransformer>)file).LastTransformer;
    }
}
