using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Pretraining;

[TestClass]
public sealed class PretrainerTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    private static readonly string[] Subjects = { "the cat", "a dog", "my neighbour", "the old man", "our teacher" };
    private static readonly string[] Verbs = { "sat on the mat", "ran to the park", "ate the red apple", "read a long book" };

    /// <summary>A tiny corpus with regular structure: short sentences built from a few subjects and predicates.</summary>
    internal static IDataView Corpus(MLContext ml, int n, int offset = 0) => ml.Data.LoadFromEnumerable(Enumerable.Range(offset, n)
        .Select(i => new Row { Text = $"{Subjects[i % Subjects.Length]} {Verbs[(i / 5) % Verbs.Length]}. then {Subjects[(i + 2) % Subjects.Length]} {Verbs[(i / 3) % Verbs.Length]}." }));

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"gwt-{name}-{Guid.NewGuid():N}");

    internal static GwtPretrainingOptions Small(string output) => new()
    {
        OutputFolder = output, MaxSequenceLength = 32, BatchSize = 8, MaxEpochs = 6, VocabularySize = 200, Seed = 3, LogEverySteps = 1000,
    };

    [TestMethod]
    public void MlmLossFallsOnATinyCorpusAndTheFolderFineTunes()
    {
        var ml = new MLContext(1);
        var output = Temp("mlm");
        try
        {
            var o = Small(output);
            o.MaxEpochs = 4;
            o.ValidationSet = Corpus(ml, 20, offset: 1000);
            var result = ml.GwtPretraining(o).Fit(Corpus(ml, 120));
            Console.WriteLine($"{result.Steps} steps, loss {result.TrainingLoss[0]:F3} -> {result.TrainingLoss.TakeLast(5).Average():F3}, held-out {string.Join(", ", result.ValidationLoss.Select(v => v.ToString("F3")))}");
            Assert.AreEqual(4 * ((result.SequencesPerEpoch + 7) / 8), result.Steps);
            Assert.AreEqual(Math.Log(result.VocabularySize), result.TrainingLoss[0], 0.3, "the first loss is that of a uniform guess");
            Assert.IsLessThan(result.TrainingLoss[0] * 0.8, result.TrainingLoss.TakeLast(5).Average(), "the training loss falls by 20%");
            Assert.HasCount(4, result.ValidationLoss);
            Assert.IsLessThan(result.ValidationLoss[0], result.ValidationLoss[^1], "the held-out loss falls");
            Assert.IsGreaterThan(0, result.OptimizerStateBytes);
            Assert.AreEqual(Path.GetFullPath(output), result.OutputFolder);

            // Domain-adaptive: continue from the folder, MLM head included.
            var more = Temp("mlm2");
            try
            {
                var messages = new List<string>();
                ml.Log += (_, e) => messages.Add(e.Message);
                var continued = ml.GwtPretraining(new GwtPretrainingOptions { OutputFolder = more, ContinueFrom = output, MaxSequenceLength = 32, BatchSize = 8, MaxEpochs = 1, Seed = 3 })
                    .Fit(Corpus(ml, 16));
                Assert.IsFalse(messages.Any(m => m.Contains("Initialized from scratch", StringComparison.Ordinal)), string.Join("\n", messages.Where(m => m.Contains("scratch"))));
                Assert.IsLessThan(result.TrainingLoss[0] * 0.85, continued.TrainingLoss[0], "training continues where it stopped");
            }
            finally
            {
                Directory.Delete(more, recursive: true);
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>With GWT, the parameters it does not compress get <see cref="GwtPretrainingOptions.NonTargetLearningRate"/>
    /// through the whole schedule: continued from a folder at a rate too small to move a float32 weight, every one of them
    /// (embeddings, LayerNorms, biases, the MLM head) is bit-identical afterwards while every GWT target has moved.</summary>
    [TestMethod]
    public void UntargetedParametersFollowTheirOwnLearningRate()
    {
        var ml = new MLContext(1);
        var first = Temp("nt-a");
        var second = Temp("nt-b");
        try
        {
            var o = Small(first);
            o.MaxEpochs = 1;
            ml.GwtPretraining(o).Fit(Corpus(ml, 40));
            Assert.AreEqual(1e-3, o.ResolvedNonTargetLearningRate, "the default: AdamW's pre-training rate");
            ml.GwtPretraining(new GwtPretrainingOptions
            {
                OutputFolder = second, ContinueFrom = first, MaxSequenceLength = 32, BatchSize = 8, MaxEpochs = 1, Seed = 3,
                LearningRate = 1e-2, NonTargetLearningRate = 1e-30, LogEverySteps = 1000,
            }).Fit(Corpus(ml, 40, offset: 100));
            var before = SafeTensors.Load(Path.Combine(first, "model.safetensors"));
            var after = SafeTensors.Load(Path.Combine(second, "model.safetensors"));
            int targets = 0, others = 0;
            foreach (var (name, tensor) in before)
            {
                bool equal = tensor.equal(after[name]).all().item<bool>();
                bool targeted = name.Contains("encoder.layer.", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal) && tensor.dim() == 2;
                if (targeted)
                {
                    Assert.IsFalse(equal, $"{name} is a GWT target and moves at 1e-2");
                    targets++;
                }
                else
                {
                    Assert.IsTrue(equal, $"{name} is not a GWT target and moves at 1e-30, i.e. not at all in float32");
                    others++;
                }
            }
            Assert.AreEqual(12, targets, "6 attention and feed-forward weights in each of Tiny's 2 layers");
            Assert.IsGreaterThan(10, others);
        }
        finally
        {
            foreach (var f in new[] { first, second })
            {
                if (Directory.Exists(f))
                {
                    Directory.Delete(f, recursive: true);
                }
            }
        }
    }

    [TestMethod]
    public void NonTargetLearningRateMustBePositiveAndFinite()
    {
        foreach (var bad in new[] { 0.0, -1e-3, double.NaN, double.PositiveInfinity })
        {
            var o = Small(Temp("bad"));
            o.NonTargetLearningRate = bad;
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext(1).GwtPretraining(o).Fit(Corpus(new MLContext(1), 4)));
            Assert.AreEqual("NonTargetLearningRate", e.ParamName);
            StringAssert.Contains(e.Message, "NonTargetLearningRate must be a finite number > 0");
        }
    }

    [TestMethod]
    public void CancelledRunResumesToIdenticalWeights()
    {
        var ml = new MLContext(1);
        var uninterrupted = Temp("a");
        var resumed = Temp("b");
        var checkpoints = Temp("ckpt");
        try
        {
            var a = Small(uninterrupted);
            a.MaxEpochs = 2;
            ml.GwtPretraining(a).Fit(Corpus(ml, 60));

            var b = Small(resumed);
            b.MaxEpochs = 2;
            b.CheckpointFolder = checkpoints;
            b.CheckpointEverySteps = 3;
            using var cancel = new CancellationTokenSource();
            b.CancellationToken = cancel.Token;
            b.Progress = p =>
            {
                if (p.Step == 5)
                {
                    cancel.Cancel(); // after step 5 of 7 in epoch 1; the last checkpoint is step 3
                }
            };
            Assert.ThrowsExactly<OperationCanceledException>(() => ml.GwtPretraining(b).Fit(Corpus(ml, 60)));
            Assert.IsFalse(Directory.Exists(resumed), "a cancelled run writes no output folder");

            b.CancellationToken = default;
            b.Progress = null;
            var result = ml.GwtPretraining(b).Fit(Corpus(ml, 60));
            Assert.IsTrue(result.Resumed);
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(uninterrupted, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed, "model.safetensors")),
                "resumed weights are identical to the uninterrupted run's");
        }
        finally
        {
            foreach (var d in new[] { uninterrupted, resumed, checkpoints }.Where(Directory.Exists))
            {
                Directory.Delete(d, recursive: true);
            }
        }
    }

    [TestMethod]
    public void MasksAreDrawnAnewEachEpochAndResumeSkipsWholeBatches()
    {
        var tokenizer = MlmMaskingTests.Vocabulary();
        var tokens = MlmTokens.From(tokenizer, "test");
        var texts = Enumerable.Range(0, 60).Select(i => string.Join(" ", Enumerable.Range(0, 12).Select(j => $"w{(i * 3 + j) % 40}"))).ToList();
        var batches = new MlmBatches(texts, new SequencePacker(tokenizer, tokens, 24), new MlmMasker(tokens, 0.15, false), 4, 8, seed: 9);
        var e0 = batches.Epoch(0, 0).SelectMany(b => b.Sequences).ToList();
        var e0Again = batches.Epoch(0, 0).SelectMany(b => b.Sequences).ToList();
        var e1 = batches.Epoch(1, 0).SelectMany(b => b.Sequences).ToList();
        Assert.AreEqual(batches.Sequences, e0.Count);
        CollectionAssert.AreEqual(e0.SelectMany(s => s.Labels).ToArray(), e0Again.SelectMany(s => s.Labels).ToArray(), "an epoch is reproducible");
        static string Key(MaskedSequence s) => string.Join(",", s.Labels.Select((l, i) => l == MlmMasker.Ignore ? 0 : i + 1));
        static string Content(MaskedSequence s) => string.Join(",", s.Labels.Zip(s.InputIds, (l, x) => l == MlmMasker.Ignore ? x : l));
        var masks0 = e0.ToDictionary(Content, Key);
        int same = e1.Count(s => masks0[Content(s)] == Key(s));
        Assert.IsLessThan(e1.Count / 4, same, $"{same} of {e1.Count} sequences kept their epoch-0 masks");
        var skipped = batches.Epoch(1, 3).SelectMany(b => b.Sequences).ToList();
        CollectionAssert.AreEqual(e1.Skip(12).SelectMany(s => s.InputIds).ToArray(), skipped.SelectMany(s => s.InputIds).ToArray(), "resume skips 3 batches of 4");
    }

    [TestMethod]
    public void OptionErrorsNameTheOption()
    {
        var ml = new MLContext(1);
        void Expect<T>(Action<GwtPretrainingOptions> set, string name) where T : Exception
        {
            var o = Small(Temp("x"));
            set(o);
            var ex = Assert.Throws<T>(() => ml.GwtPretraining(o).Fit(Corpus(ml, 10)));
            StringAssert.Contains(ex.Message, name);
        }
        Expect<ArgumentOutOfRangeException>(o => o.OutputFolder = null, "OutputFolder");
        Expect<ArgumentOutOfRangeException>(o => o.MaskProbability = 1.5, "MaskProbability");
        Expect<ArgumentOutOfRangeException>(o => o.MaxSequenceLength = 4, "MaxSequenceLength");
        Expect<ArgumentOutOfRangeException>(o => o.GwtAlpha = 0, "GwtAlpha");
        Expect<ArgumentOutOfRangeException>(o => o.TextColumnName = "Body", "'Body'");
        Expect<ArgumentException>(o => o.CheckpointFolder = o.OutputFolder, "CheckpointFolder");
        Expect<NotSupportedException>(o => o.ContinueFrom = Modeling.EncoderParityTests.Checkpoint("distilbert-tiny"), "distilbert");
        Expect<ArgumentOutOfRangeException>(o => { o.ContinueFrom = Modeling.EncoderParityTests.Checkpoint("bert-tiny"); o.MaxSequenceLength = 64; }, "MaxSequenceLength");
        Expect<ArgumentOutOfRangeException>(o => o.GwtLevel = 9, "GwtLevel");
    }

    [TestMethod]
    public void PresetIsThePapersPretrainingSetting()
    {
        var o = new GwtPretrainingOptions();
        Assert.AreEqual(GwtOptimizerKind.Gwt, o.Optimizer);
        Assert.AreEqual(2, o.GwtLevel);
        Assert.AreEqual(0.25, o.GwtAlpha);
        Assert.AreEqual(0.01, o.ResolvedLearningRate);
        Assert.AreEqual(0.0, o.WeightDecay);
        o.Optimizer = GwtOptimizerKind.AdamW;
        Assert.AreEqual(1e-3, o.ResolvedLearningRate);
    }
}
