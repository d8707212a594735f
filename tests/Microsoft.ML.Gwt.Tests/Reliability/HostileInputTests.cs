using System.Reflection;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tests.Trainers;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Reliability;

[TestClass]
[DoNotParallelize]
public sealed class HostileInputTests
{
    [TestMethod]
    public void NonFiniteStepIsSkippedWithMomentsUntouched()
    {
        var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 24);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        float[]? before = null, after = null;
        long stepsBefore = -1, stepsAfter = -1;
        float[] Moments(GwtAdam opt) => opt.Groups.SelectMany(g => g.Parameters).SelectMany(p =>
            opt.GetState(p).ExpAvg.data<float>().ToArray().Concat(opt.GetState(p).ExpAvgSq.data<float>().ToArray())).ToArray();
        o.EngineHooks = new TrainingEngineHooks
        {
            PoisonStep = s => s == 2,
            AfterStep = (s, opt) =>
            {
                if (s == 1) { before = Moments(opt); stepsBefore = opt.GetState(opt.Groups[0].Parameters.First()).Step; }
                if (s == 2) { after = Moments(opt); stepsAfter = opt.GetState(opt.Groups[0].Parameters.First()).Step; }
            },
        };
        var warnings = new List<string>();
        ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        var model = (GwtTextClassificationTransformer)map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train).LastTransformer;
        Assert.AreEqual(1, model.TrainingResult!.SkippedSteps);
        CollectionAssert.AreEqual(before, after, "moments unchanged by the skipped step");
        Assert.AreEqual(stepsBefore, stepsAfter, "the optimizer's step count did not advance");
        Assert.IsTrue(warnings.Any(w => w.Contains("Step 2") && w.Contains("skipped")));

        o.NonFiniteStep = NonFiniteStepAction.Throw;
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => map.Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train));
        StringAssert.Contains(ex.Message, "Step 2");
    }

    [TestMethod]
    public void NullEmptyWhitespaceAndOneMegabyteTextsTrainAndScore()
    {
        var ml = new MLContext(2);
        var rows = SpamData.Take("train", 20, "ham", "spam");
        rows[0].Text = null!;
        rows[1].Text = "";
        rows[2].Text = "   \t  ";
        rows[3].Text = string.Concat(Enumerable.Repeat("free money now ", 70_000)); // ~1 MB
        var data = ml.Data.LoadFromEnumerable(rows);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(data);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        Assert.HasCount(40, scores);
        Assert.IsTrue(scores.Take(4).All(s => s.All(float.IsFinite) && Math.Abs(s.Sum() - 1) < 1e-4));
        // The 1 MB text is read only as far as MaxSequenceLength reaches: it scores exactly like a 1,500-character prefix
        // of it (300 words, more than the 64 ids allowed), and unlike a prefix too short to fill them.
        var huge = rows[3].Text;
        var probes = ml.Data.LoadFromEnumerable(new[] { huge, huge[..1500], huge[..30] }.Select(t => new Email { Label = rows[3].Label, Text = t }));
        var probeScores = model.Transform(probes).GetColumn<float[]>("Score").ToArray();
        static double Diff(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();
        Console.WriteLine($"1 MB row: [{string.Join(", ", probeScores[0])}], its 1,500-character prefix: [{string.Join(", ", probeScores[1])}], its 30: [{string.Join(", ", probeScores[2])}]");
        Assert.IsLessThan(1e-6, Diff(scores[3], probeScores[0]), "the 1 MB row scores the same among the training rows and among the probes");
        Assert.IsLessThan(1e-6, Diff(probeScores[0], probeScores[1]), "the 1 MB text scores like its first 1,500 characters");
        Assert.IsGreaterThan(1e-4, Diff(probeScores[0], probeScores[2]), "a 30-character prefix (6 words) is a different input");
    }

    /// <summary>
    /// 200 damaged copies of a saved model (truncated, random bytes, 1–8 flipped bytes): each one either fails with an
    /// exception of a specific managed type whose message names what is damaged, or loads and scores exactly like the
    /// original (bit for bit). Anything else (a NullReferenceException, a model that loads and scores differently or NaN,
    /// a native crash) fails the test. Through <see cref="GwtModelLoader.Load(MLContext, Stream, out DataViewSchema)"/> each
    /// failing copy raises the same error with no <see cref="TargetInvocationException"/> around it.
    /// </summary>
    [TestMethod]
    public void DamagedModelFilesFailWithANamedErrorOrScoreExactlyLikeTheOriginal()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var path = Path.Combine(Path.GetTempPath(), $"gwt-{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, test.Schema, path);
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        var original = model.Transform(test).GetColumn<float[]>("Score").ToArray();
        var fresh = new MLContext(1);

        Assert.Throws<IOException>(() => fresh.Model.Load("/nonexistent/model.zip", out _));
        var rng = new Random(17);
        var outcomes = new Dictionary<string, int>();
        var wrong = new List<string>();
        for (int i = 0; i < 200; i++)
        {
            byte[] copy = i % 4 == 0 ? bytes[..rng.Next(bytes.Length)] // truncated
                : i % 4 == 1 ? Enumerable.Range(0, 4096).Select(_ => (byte)rng.Next(256)).ToArray() // random bytes
                : Mutate(bytes, rng);
            string outcome;
            try
            {
                using var ms = new MemoryStream(copy);
                var m = fresh.Model.Load(ms, out _);
                var scores = m.Transform(test).GetColumn<float[]>("Score").ToArray();
                bool same = scores.Length == original.Length && scores.Zip(original).All(p => p.First.AsSpan().SequenceEqual(p.Second));
                outcome = same ? "loaded, scores identical" : "loaded, scores differ";
                if (!same)
                {
                    wrong.Add($"copy {i}: loaded but scores differ (first row {string.Join(", ", scores.FirstOrDefault() ?? Array.Empty<float>())})");
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var (inner, layers) = ModelFileErrors.Unwrap(ex);
                outcome = ModelFileErrors.Describe(inner, layers);
                if (ModelFileErrors.Problem(inner, layers) is string problem)
                {
                    wrong.Add($"copy {i}: {problem}: {ex.GetType().Name} -> {inner.GetType().Name}: {inner.Message}");
                }
                // The same copy through GwtModelLoader.Load: the same error, with no reflection wrapper around it.
                try
                {
                    GwtModelLoader.Load(fresh, new MemoryStream(copy), out _);
                    wrong.Add($"copy {i}: GwtModelLoader.Load loaded what Model.Load refused");
                }
                catch (Exception direct) when (direct is not OutOfMemoryException)
                {
                    if (direct is TargetInvocationException || direct.GetType() != inner.GetType() || direct.Message != inner.Message)
                    {
                        wrong.Add($"copy {i}: GwtModelLoader.Load raised {direct.GetType().Name} ({direct.Message}), not {inner.GetType().Name}");
                    }
                }
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        foreach (var (outcome, count) in outcomes.OrderByDescending(kv => kv.Value))
        {
            Console.WriteLine($"model-file mutations: {count,3} {outcome}");
        }
        Assert.IsEmpty(wrong, string.Join("\n", wrong.Take(20)));
    }

    private static byte[] Mutate(byte[] source, Random rng)
    {
        var copy = (byte[])source.Clone();
        for (int k = 0; k < 1 + rng.Next(8); k++)
        {
            copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
        }
        return copy;
    }

    [TestMethod]
    public void ConcurrentScoringMatchesSerialScoring()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var serial = model.Transform(test).GetColumn<float[]>("Score").ToArray();
        var emails = SpamData.Take("test", 20, "ham", "spam");
        var errors = new List<string>();
        Parallel.For(0, 4, t =>
        {
            var viaTransform = model.Transform(test).GetColumn<float[]>("Score").ToArray();
            var engine = ml.Model.CreatePredictionEngine<Email, ScoreOnly>(model);
            for (int i = 0; i < emails.Count; i++)
            {
                var p = engine.Predict(emails[i]);
                for (int k = 0; k < p.Score.Length; k++)
                {
                    if (Math.Abs(p.Score[k] - serial[i][k]) > 1e-5 || Math.Abs(viaTransform[i][k] - serial[i][k]) > 1e-5)
                    {
                        lock (errors) errors.Add($"thread {t} row {i} class {k}");
                    }
                }
            }
        });
        Assert.IsEmpty(errors, string.Join("; ", errors.Take(5)));
    }

    /// <summary>Trains (12 steps per epoch) and samples the live TorchSharp tensors of the training thread every 5 steps
    /// (no GC is forced: a finalizer must not hide a leak). <paramref name="leakPerStep"/> runs after every step.</summary>
    private static List<(long Step, long LiveTensors, long Rss)> LiveTensorsDuringTraining(int epochs, Action? leakPerStep)
    {
        var ml = new MLContext(4);
        var rows = SpamData.Take("train", 24, "ham", "spam");
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var samples = new List<(long, long, long)>();
        var o = new GwtTextClassificationTrainer.Options
        {
            Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
            Sentence1ColumnName = "Text", BatchSize = 4, MaxEpochs = epochs, MaxSequenceLength = 32, Seed = 1, LogEverySteps = 100000,
            Progress = p =>
            {
                if (p.ValidationAccuracy is not null)
                {
                    return;
                }
                leakPerStep?.Invoke();
                if (p.Step % 5 == 0)
                {
                    using var process = Process.GetCurrentProcess();
                    samples.Add((p.Step, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount, process.WorkingSet64));
                }
            },
        };
        ml.MulticlassClassification.Trainers.Gwt(o).Fit(data);
        return samples;
    }

    [TestMethod]
    public void LiveTensorsDoNotGrowStepOverStep()
    {
        var samples = LiveTensorsDuringTraining(epochs: 3, leakPerStep: null);
        Assert.IsGreaterThanOrEqualTo(7, samples.Count);
        var (warmStep, warm, warmRss) = samples[1];
        var (endStep, end, endRss) = samples[^1];
        Console.WriteLine($"live tensors after step {warmStep}: {warm}, after step {endStep}: {end}; RSS {warmRss / 1048576.0:F1} MB -> {endRss / 1048576.0:F1} MB");
        Assert.AreEqual(warm, end, $"live tensors grew by {end - warm} over {endStep - warmStep} steps");
    }

    [TestMethod]
    public void ALeakOfOneTensorPerStepIsCaught()
    {
        // The measurement above must be able to fail: one undisposed tensor per step (left to the finalizer) shows up.
        var samples = LiveTensorsDuringTraining(epochs: 2, leakPerStep: () => TorchSharp.torch.ones(1));
        var (warmStep, warm, _) = samples[1];
        var (endStep, end, _) = samples[^1];
        Assert.AreEqual(endStep - warmStep, end - warm, "one live tensor per step");
    }

    public sealed class ScoreOnly
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
