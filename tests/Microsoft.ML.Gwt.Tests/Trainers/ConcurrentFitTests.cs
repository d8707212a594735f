using Microsoft.ML;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Runs of <c>Fit</c> in one process: two at once train the models they train one after the other (TorchSharp's
/// generator is process-wide), and a failed or cancelled run frees the model it built.</summary>
[TestClass]
public sealed class ConcurrentFitTests
{
    /// <summary>A from-scratch run (random initialization and dropout 0.1, so both draw from the generator) on its own
    /// MLContext, on a new thread; <paramref name="afterStep"/> is called after each optimizer step.</summary>
    private static Thread StartFit(int seed, Action<long> afterStep, Action<GwtTextClassificationTransformer, List<string>> done)
    {
        var thread = new Thread(() =>
        {
            var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 24);
            var log = new List<string>();
            ml.Log += (_, e) =>
            {
                lock (log)
                {
                    log.Add(e.Message);
                }
            };
            var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
            o.MaxEpochs = 2;
            o.Seed = seed;
            o.EngineHooks = new TrainingEngineHooks { AfterStep = (step, _) => afterStep(step) };
            var model = (GwtTextClassificationTransformer)map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train).LastTransformer;
            done(model, log);
        })
        { Name = $"fit seed {seed}" };
        thread.Start();
        return thread;
    }

    private static Dictionary<string, int[]> WeightBits(GwtTextClassificationTransformer model) =>
        model.Model.named_parameters().ToDictionary(p => p.name,
            p => p.parameter.detach().cpu().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());

    private static void AssertSameBits(Dictionary<string, int[]> expected, Dictionary<string, int[]> actual, string run)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray(), run);
        foreach (var (name, bits) in expected)
        {
            CollectionAssert.AreEqual(bits, actual[name], $"{run}: parameter {name} differs from the run made alone");
        }
    }

    [TestMethod]
    public void TwoFitsAtOnceTrainTheModelsTheyTrainOneAfterTheOther()
    {
        int[] seeds = { 11, 12 };
        var alone = new Dictionary<string, int[]>[2];
        for (int i = 0; i < 2; i++)
        {
            int run = i;
            var t = StartFit(seeds[run], _ => { }, (model, _) => alone[run] = WeightBits(model));
            Assert.IsTrue(t.Join(TimeSpan.FromMinutes(10)), "hang guard: a run alone ended");
        }

        // At once, in lock step: both wait for each other after every optimizer step, so their micro-batches
        // (seeding, then the forward pass's dropout draws) start together every time.
        using var lockStep = new Barrier(2);
        var atOnce = new Dictionary<string, int[]>[2];
        var logs = new List<string>[2];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 2).Select(run => StartFit(seeds[run],
            _ => lockStep.SignalAndWait(TimeSpan.FromMinutes(1)), // the timeout only guards against a hang if the other run fails
            (model, log) => { atOnce[run] = WeightBits(model); logs[run] = log; })).ToArray();
        foreach (var t in threads)
        {
            Assert.IsTrue(t.Join(TimeSpan.FromMinutes(10)), "hang guard: the concurrent runs ended");
        }
        Assert.IsNotNull(atOnce[0], "run 0 finished");
        Assert.IsNotNull(atOnce[1], "run 1 finished");
        string first = alone[0].Keys.First();
        CollectionAssert.AreNotEqual(alone[0][first], alone[1][first], "the two seeds give two models");
        AssertSameBits(alone[0], atOnce[0], "seed 11 beside seed 12");
        AssertSameBits(alone[1], atOnce[1], "seed 12 beside seed 11");
        var notices = logs.SelectMany(l => l).Where(m => m.Contains("other training run(s) in this process", StringComparison.Ordinal)).ToList();
        Assert.IsNotEmpty(notices, "the run that started second says that it shares the generator with the other");
        StringAssert.Contains(notices[0], "waits for them");
    }

    [TestMethod]
    public void TheCallersGeneratorStateIsWhereItWasAfterFit()
    {
        var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 12);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        torch.random.manual_seed(123);
        using var before = torch.random.get_rng_state();
        map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train);
        using var after = torch.random.get_rng_state();
        CollectionAssert.AreEqual(before.data<byte>().ToArray(), after.data<byte>().ToArray(), "Fit put the caller's generator state back");
    }

    /// <summary>Runs Fit with the hooks and returns its exception and the parameters of the model it built (taken at the
    /// first step).</summary>
    private static (Exception Error, List<Tensor> Parameters) FailedFit(GwtTextClassificationTrainer.Options o, TrainingEngineHooks hooks)
    {
        var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 24);
        var parameters = new List<Tensor>();
        o.EngineHooks = hooks with
        {
            BeforeOptimizerStep = info =>
            {
                if (parameters.Count == 0)
                {
                    parameters.AddRange(info.Model.parameters());
                }
            },
        };
        var error = Assert.Throws<Exception>(() => map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train));
        return (error, parameters);
    }

    [TestMethod]
    public void ACancelledFitDisposesTheModelItBuilt()
    {
        using var cancel = new CancellationTokenSource();
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.CancellationToken = cancel.Token;
        var (error, parameters) = FailedFit(o, new TrainingEngineHooks { AfterStep = (step, _) => cancel.Cancel() });
        Assert.IsInstanceOfType<OperationCanceledException>(error);
        Assert.IsNotEmpty(parameters, "the model was built and trained a step");
        Assert.IsTrue(parameters.All(p => p.IsInvalid), $"{parameters.Count(p => !p.IsInvalid)} of {parameters.Count} parameters still hold native memory after the cancelled Fit");
    }

    [TestMethod]
    public void AFailedFitDisposesTheModelItBuilt()
    {
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.NonFiniteStep = NonFiniteStepAction.Throw;
        var (error, parameters) = FailedFit(o, new TrainingEngineHooks { PoisonStep = step => step == 2 });
        Assert.IsInstanceOfType<InvalidOperationException>(error);
        StringAssert.Contains(error.Message, "NonFiniteStep");
        Assert.IsNotEmpty(parameters);
        Assert.IsTrue(parameters.All(p => p.IsInvalid), $"{parameters.Count(p => !p.IsInvalid)} of {parameters.Count} parameters still hold native memory after the failed Fit");
    }
}
