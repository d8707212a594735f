using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>
/// The data path holds every Scalar it passes to libtorch for the whole call: scoring many batches of a 6-layer model of
/// each attention family while another thread forces garbage collections and finalizers without pause gives the same
/// scores as without that pressure, and nothing aborts ("Unknown scalar type" from a Scalar finalized mid-call); so do
/// the optimizer's tensor-operation steps (CUDA's path), which failed 5 of 6 runs before their Scalars were held.
/// </summary>
[TestClass]
public sealed class ScalarLifetimeTests
{
    private const int Rounds = 5;

    [TestMethod]
    [DataRow("bert", "gelu")]
    [DataRow("bert", "gelu_new")]
    [DataRow("distilbert", "gelu")]
    [DataRow("deberta-v2", "gelu")]
    public void ScoringUnderConstantGarbageCollectionGivesTheSameScores(string family, string activation)
    {
        manual_seed(3);
        var config = TransformerConfig.Tiny(200);
        config.ModelType = family;
        config.NumHiddenLayers = 6;
        config.HiddenAct = activation;
        if (family == "deberta-v2")
        {
            config.RelativeAttention = true;
            config.PositionBuckets = 8;
            config.MaxRelativePositions = 16;
            config.PosAttType = new[] { "c2p", "p2c" };
        }
        using var model = new TextClassificationModel(config, 3);
        model.eval();
        using var noGrad = no_grad();
        var batches = Enumerable.Range(0, 8).Select(b =>
        {
            using var ids = randint(1, 200, new long[] { 4, 24 });
            var mask = ones(4, 24, ScalarType.Int64);
            mask[.., (20 - b)..] = zeros(4, 4 + b, ScalarType.Int64); // padding of different lengths
            return (Ids: ids.clone(), Mask: mask);
        }).ToList();
        float[][] Score() => batches.Select(b =>
        {
            using var logits = model.Forward(b.Ids, b.Mask);
            return logits.data<float>().ToArray();
        }).ToArray();
        var expected = Score();

        using var stop = new CancellationTokenSource();
        long collections = 0;
        var pressure = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Young-generation collections: the temporaries are young, and a full collection of a test process's
                // heap would stall the scoring thread for no extra coverage.
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true };
        pressure.Start();
        try
        {
            for (int round = 0; round < Rounds; round++)
            {
                var actual = Score();
                for (int b = 0; b < expected.Length; b++)
                {
                    CollectionAssert.AreEqual(expected[b], actual[b], $"{family}/{activation}: round {round}, batch {b}");
                }
            }
        }
        finally
        {
            stop.Cancel();
            pressure.Join();
        }
        Console.WriteLine($"{family}/{activation}: {Rounds} x {batches.Count} batches scored during {Interlocked.Read(ref collections)} forced collections");
        Assert.IsGreaterThan((long)Rounds, Interlocked.Read(ref collections), "the collections ran while scoring");
        foreach (var b in batches)
        {
            b.Ids.Dispose();
            b.Mask.Dispose();
        }
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void OptimizerStepsOnTheTensorPathUnderConstantGarbageCollectionGiveTheSameWeights(bool limiter)
    {
        // The tensor path (CUDA's; forced on the CPU here) passes step-dependent Scalars (bias corrections, learning rate,
        // decay) and the Haar transform's 1/sqrt(2): the same 60 steps with and without collection pressure.
        var quiet = Train(limiter, pressure: false);
        var pressed = Train(limiter, pressure: true);
        for (int i = 0; i < quiet.Length; i++)
        {
            CollectionAssert.AreEqual(quiet[i], pressed[i], $"parameter {i}");
        }
    }

    private static float[][] Train(bool limiter, bool pressure)
    {
        manual_seed(5);
        var parameters = new (string, Parameter)[]
        {
            ("encoder.layer.0.attention.self.query.weight", new Parameter(randn(384, 256))),
            ("encoder.layer.0.output.dense.weight", new Parameter(randn(256, 384))),
            ("classifier.weight", new Parameter(randn(3, 256))),
            ("encoder.layer.0.output.dense.bias", new Parameter(randn(256))),
        };
        var gradients = Enumerable.Range(0, 60).Select(_ => parameters.Select(p => randn(p.Item2.shape)).ToArray()).ToList();
        using var optimizer = GwtAdam.Create(parameters, new GwtAdamOptions { LearningRate = 1e-2, WeightDecay = 0.01, Level = 2, Alpha = 0.25, NormGrowthLimiter = limiter });
        optimizer.UseFusedCpuKernels = false;
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() =>
        {
            while (pressure && !stop.IsCancellationRequested)
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        thread.Start();
        try
        {
            foreach (var step in gradients)
            {
                for (int i = 0; i < parameters.Length; i++)
                {
                    parameters[i].Item2.grad = step[i].clone();
                }
                optimizer.step();
            }
        }
        finally
        {
            stop.Cancel();
            thread.Join();
        }
        var weights = parameters.Select(p => p.Item2.data<float>().ToArray()).ToArray();
        foreach (var step in gradients)
        {
            foreach (var g in step)
            {
                g.Dispose();
            }
        }
        foreach (var (_, p) in parameters)
        {
            p.Dispose();
        }
        return weights;
    }
}
