using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>The trainer's <c>Precision</c> option on the CPU (bfloat16; float16 needs CUDA).</summary>
[TestClass]
public sealed class PrecisionTrainingTests
{
    private sealed class Interrupted : Exception
    {
    }

    private static GwtTextClassificationTrainer.Options Options(GwtPrecision precision, int epochs = 4)
    {
        var o = TrainingLoopTests.Options();
        o.Precision = precision;
        o.MaxEpochs = epochs;
        o.BatchSize = 5;
        return o;
    }

    [TestMethod]
    public void BFloat16TrainingReachesFloat32sLossWithFloat32MasterWeights()
    {
        var (ml, train) = TrainingLoopTests.PairData(10);
        var f32 = TrainingLoopTests.Train(ml, train, Options(GwtPrecision.Float32)).TrainingResult!.TrainingLoss;

        var types = new HashSet<(string Kind, ScalarType Type)>();
        var o = Options(GwtPrecision.BFloat16);
        o.EngineHooks = new TrainingEngineHooks { AfterStep = (_, optimizer) =>
        {
            // Every low-precision parameter has float32 master weights; the moments are float32.
            foreach (var g in optimizer.Groups)
            {
                foreach (var p in g.Parameters)
                {
                    var s = optimizer.GetState(p);
                    types.Add((p.dtype == ScalarType.BFloat16 ? "bf16 parameter master" : "f32 parameter master", s.Master?.dtype ?? p.dtype));
                    types.Add(("moments", s.ExpAvg.dtype));
                }
            }
        } };
        var model = TrainingLoopTests.Train(ml, train, o, beforeStep: info =>
        {
            foreach (var (name, p) in info.Model.named_parameters())
            {
                types.Add((name.Contains("LayerNorm", StringComparison.Ordinal) ? "LayerNorm weight" : "other weight", p.dtype));
            }
        });
        var bf16 = model.TrainingResult!.TrainingLoss;
        CollectionAssert.AreEquivalent(new[]
        {
            ("LayerNorm weight", ScalarType.Float32), ("other weight", ScalarType.BFloat16),
            ("bf16 parameter master", ScalarType.Float32), ("f32 parameter master", ScalarType.Float32), ("moments", ScalarType.Float32),
        }, types.ToArray());
        Assert.IsTrue(model.Model.parameters().All(p => p.dtype == ScalarType.Float32), "the trained model is float32");

        // 4 epochs of 2 steps: compare the last epoch's mean loss. Margin: 0.05 absolute (bfloat16 keeps 8 bits of mantissa).
        double last32 = f32.TakeLast(2).Average(), last16 = bf16.TakeLast(2).Average();
        Console.WriteLine($"last-epoch training loss: float32 {last32:F4}, bfloat16 {last16:F4} (first step {f32[0]:F4} / {bf16[0]:F4})");
        Assert.IsLessThan(f32[0] * 0.8, last32, "float32 learns");
        Assert.IsLessThan(0.05, Math.Abs(last16 - last32), $"bfloat16 loss {last16} vs float32 {last32}");
        Assert.IsFalse(f32.SequenceEqual(bf16), "bfloat16 computed exactly what float32 did: the policy is not applied");
    }

    [TestMethod]
    public void TheTrainedModelHoldsTheMasterWeightsNotTheirBFloat16Rounding()
    {
        var (ml, train) = TrainingLoopTests.PairData(10);
        Dictionary<string, float[]> masters = new();
        var o = Options(GwtPrecision.BFloat16, epochs: 1);
        o.EngineHooks = new TrainingEngineHooks
        {
            AfterStep = (_, optimizer) =>
                masters = optimizer.Groups.SelectMany(g => g.Parameters).ToDictionary(p => p.Handle.ToString(), p => optimizer.MasterWeight(p).detach().cpu().data<float>().ToArray()),
        };
        var model = TrainingLoopTests.Train(ml, train, o);
        var final = model.Model.parameters().Select(p => p.detach().cpu().data<float>().ToArray()).ToList();
        var saved = masters.Values.ToList();
        // Same multiset of weight tensors (the handles changed when the model went back to float32).
        foreach (var w in final)
        {
            Assert.IsTrue(saved.Any(m => m.SequenceEqual(w)), "a trained weight is not the optimizer's master weights");
        }
        Assert.IsTrue(final.Any(w => w.Any(x => (BitConverter.SingleToUInt32Bits(x) & 0xFFFF) != 0)),
            "every weight is bfloat16-exact: the master weights were rounded");
    }

    [TestMethod]
    public void BFloat16RunInterruptedMidEpochResumesToIdenticalWeights()
    {
        var (ml, train) = TrainingLoopTests.PairData(10);
        GwtTextClassificationTrainer.Options Make(string? folder)
        {
            var o = Options(GwtPrecision.BFloat16, epochs: 2); // 2 steps per epoch
            o.CheckpointFolder = folder;
            o.CheckpointEverySteps = 1;
            return o;
        }
        var uninterrupted = TrainingLoopTests.Weights(TrainingLoopTests.Train(ml, train, Make(null)).Model);
        var folder = Directory.CreateTempSubdirectory("gwt-bf16-resume-").FullName;
        try
        {
            Assert.ThrowsExactly<Interrupted>(() => TrainingLoopTests.Train(ml, train, Make(folder), s => { if (s.Step == 2) throw new Interrupted(); }));
            var resumed = TrainingLoopTests.Train(ml, train, Make(folder));
            Assert.IsTrue(resumed.TrainingResult!.Resumed);
            var weights = TrainingLoopTests.Weights(resumed.Model);
            foreach (var (name, w) in uninterrupted)
            {
                CollectionAssert.AreEqual(w, weights[name], name);
            }

            // The checkpoint belongs to a bfloat16 run: float32 is another run.
            var other = Assert.ThrowsExactly<InvalidOperationException>(() =>
            {
                var o = Make(folder);
                o.Precision = GwtPrecision.Float32;
                TrainingLoopTests.Train(ml, train, o);
            });
            StringAssert.Contains(other.Message, "Precision (checkpoint: BFloat16; now: absent)");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void Float16OnTheCpuIsRefusedNamingTheOption()
    {
        var (ml, train) = TrainingLoopTests.PairData(10);
        var o = Options(GwtPrecision.Float16, epochs: 1);
        o.Device = GwtDevice.Cpu;
        var ex = Assert.ThrowsExactly<ArgumentException>(() => TrainingLoopTests.Train(ml, train, o));
        Assert.AreEqual("Precision", ex.ParamName);
        StringAssert.Contains(ex.Message, "Precision = Float16 needs a CUDA device");
    }
}

/// <summary>Scoring precision and the saved weights' type.</summary>
[TestClass]
public sealed class PrecisionScoringTests
{
    private static readonly string[] Texts = { "the cat sat on the mat", "hello world !", "the dog runs", "the cat sat" };

    private static GwtTextClassificationTransformer Train(GwtPrecision precision, bool bf16Weights = false)
    {
        var (ml, train) = TrainingLoopTests.PairData(10);
        var o = TrainingLoopTests.Options();
        o.Sentence2ColumnName = null;
        o.Precision = precision;
        o.SaveWeightsAsBFloat16 = bf16Weights;
        o.MaxEpochs = 2;
        return TrainingLoopTests.Train(ml, train, o);
    }

    [TestMethod]
    public void BFloat16ScoringAgreesWithFloat32()
    {
        using var model = Train(GwtPrecision.Float32);
        Assert.AreEqual(GwtPrecision.Float32, model.ScoringPrecision);
        var f32 = model.Predict(Texts);
        model.ScoringPrecision = GwtPrecision.BFloat16;
        var bf16 = model.Predict(Texts);
        double maxDiff = f32.Zip(bf16, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
        Console.WriteLine($"max |p_bf16 - p_f32| over {Texts.Length} texts: {maxDiff:E2}");
        Assert.IsGreaterThan(0.0, maxDiff, "bfloat16 scoring computed exactly float32's probabilities");
        Assert.IsLessThan(0.02, maxDiff);
        Assert.IsTrue(model.Model.parameters().All(p => p.dtype == ScalarType.Float32), "Model keeps the float32 weights");
        model.ScoringPrecision = GwtPrecision.Float32;
        CollectionAssert.AreEqual(f32[0], model.Predict(Texts)[0]);
        var undefined = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ScoringPrecision = (GwtPrecision)42);
        Assert.AreEqual("ScoringPrecision", undefined.ParamName);
    }

    [TestMethod]
    public void PrecisionAndWeightTypeAreSavedWithTheModel()
    {
        var ml = new MLContext(1);
        var schema = ml.Data.LoadFromEnumerable(new[] { new Pair() }).Schema;
        long WeightsBytes(string path)
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            return zip.Entries.Where(e => e.FullName.Contains("Weights", StringComparison.Ordinal)).Sum(e => e.Length);
        }
        var sizes = new Dictionary<bool, long>();
        foreach (bool bf16Weights in new[] { false, true })
        {
            using var model = Train(GwtPrecision.BFloat16, bf16Weights);
            Assert.AreEqual(GwtPrecision.BFloat16, model.ScoringPrecision, "the run's precision is the scoring precision");
            var before = model.Predict(Texts);
            var path = Path.Combine(Path.GetTempPath(), $"gwt-prec-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, schema, path);
                sizes[bf16Weights] = WeightsBytes(path);
                var file = GwtModelLoader.Load(new MLContext(2), path, out _);
                using var loaded = file as GwtTextClassificationTransformer ?? (GwtTextClassificationTransformer)((TransformerChain<ITransformer>)file).LastTransformer;
                Assert.AreEqual(GwtPrecision.BFloat16, loaded.ScoringPrecision);
                var weights = TrainingLoopTests.Weights(loaded.Model);
                foreach (var (name, w) in TrainingLoopTests.Weights(model.Model))
                {
                    // Float32 files hold the master weights exactly; bfloat16 files hold them rounded to nearest even.
                    var expected = bf16Weights ? w.Select(x => BitConverter.UInt32BitsToSingle((uint)Microsoft.ML.Gwt.Optim.BFloat16.FromSingle(x) << 16)).ToArray() : w;
                    CollectionAssert.AreEqual(expected, weights[name], name);
                }
                var after = loaded.Predict(Texts);
                if (!bf16Weights)
                {
                    CollectionAssert.AreEqual(before[1], after[1], "a float32 file scores exactly as the trained model");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
        Console.WriteLine($"weights entry: float32 {sizes[false]} bytes, bfloat16 {sizes[true]} bytes");
        // Half the tensor bytes; the safetensors header (names, shapes) is the same in both, a few percent of this tiny model.
        Assert.IsLessThan(sizes[false] * 0.55, (double)sizes[true]);
    }
}
