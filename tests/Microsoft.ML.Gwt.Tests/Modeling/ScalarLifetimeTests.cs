using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using static TorchSharp.torch;

using Microsoft.ML.Gwt.Core.Modeling;
namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>
/// The data path holds every Scalar it passes to libtorch for the whole call: scoring many batches of a 6-layer model of
/// each attention family while another thread forces garbage collections and finalizers without pause gives the same
/// scores as without that pressure, and nothing aborts ("Unknown scalar type" from a Scalar finalized mid-call).
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
}
