using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Optim;

[TestClass]
public sealed class GwtAdamTests
{
    /// <summary>Sets p.grad to exactly <paramref name="g"/> through autograd: d/dp sum(p * g) = g.</summary>
    internal static void SetGrad(Parameter p, Tensor g)
    {
        using var loss = (p * g).sum();
        loss.backward();
    }

    private static double[] Gradient(int step, int numel, int seed)
    {
        var rng = new Random(seed * 1000 + step);
        // Growing scale makes the norm-growth limiter trigger from the second step on. Values are float32-exact, so the
        // reference and the optimizer see the same gradient.
        return Enumerable.Range(0, numel).Select(_ => (double)(float)((rng.NextDouble() * 2 - 1) * (1 + 0.5 * step))).ToArray();
    }

    public static IEnumerable<object[]> Cases()
    {
        foreach (int level in new[] { 0, 1, 2, 3 })
        {
            foreach (var (rows, cols, axis) in new[] { (6, 16, 1), (5, 13, 1), (11, 7, 0), (3, 67, 1) })
            {
                foreach (bool limiter in new[] { true, false })
                {
                    foreach (bool fused in new[] { true, false })
                    {
                        yield return new object[] { level, rows, cols, axis, limiter, fused };
                    }
                }
            }
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void MatchesScalarReference(int level, int rows, int cols, int axis, bool limiter, bool fused)
    {
        // fused: the float32 CPU kernel. Otherwise the tensor path (what runs on GPU), here in float64, which must agree
        // with the double-precision reference to rounding. In float32, a block whose gradient sum nearly cancels has a
        // tiny denominator that amplifies rounding, so the fused comparison is relative to the parameter's size.
        const double lr = 0.01, wd = 0.1, alpha = 0.7;
        var dtype = fused ? ScalarType.Float32 : ScalarType.Float64;
        var rng = new Random(7);
        var init = Enumerable.Range(0, rows * cols).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var p = new Parameter(tensor(init, new long[] { rows, cols }).to(dtype));
        using var opt = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { p }) },
            new GwtAdamOptions { LearningRate = lr, WeightDecay = wd, Gwt = true, Level = level, Alpha = alpha, Axis = axis, NormGrowthLimiter = limiter })
        { UseFusedCpuKernels = fused };
        var reference = new ReferenceGwtAdam(rows, cols, level, axis, lr, wd: wd, alpha: level == 0 ? 1 : alpha, limiter: limiter);
        var expected = (double[])init.Clone();
        for (int step = 0; step < 6; step++)
        {
            var g = Gradient(step, rows * cols, 1);
            opt.zero_grad();
            using (var gt = tensor(g, new long[] { rows, cols }).to(dtype))
            {
                SetGrad(p, gt);
            }
            opt.step();
            reference.Step(expected, g);
        }
        var actual = p.to(ScalarType.Float64).data<double>().ToArray();
        double maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        double maxRel = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(1, Math.Abs(e))).Max();
        Console.WriteLine($"level {level} [{rows}x{cols}] axis {axis} limiter {limiter} fused {fused}: max |reference - GwtAdam| = {maxDiff:E2} (relative {maxRel:E2})");
        if (fused)
        {
            Assert.IsLessThan(5e-5, maxRel, $"float32 fused kernel: max relative deviation {maxRel}");
        }
        else
        {
            Assert.IsLessThan(1e-9, maxDiff, $"float64 tensor path: max deviation {maxDiff}");
        }
        Assert.AreEqual(reference.StateFloats * (fused ? 4L : 8L), opt.StateBytes);
    }

    [TestMethod]
    public void LevelZeroEqualsTorchSharpAdamW()
    {
        manual_seed(11);
        using var w0 = randn(8, 12);
        using var a = new Parameter(w0.clone());
        using var b = new Parameter(w0.clone());
        using var gwt = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { a }) },
            new GwtAdamOptions { LearningRate = 0.01, WeightDecay = 0.05, Gwt = true, Level = 0 });
        using var adamw = optim.AdamW(new[] { b }, lr: 0.01, weight_decay: 0.05);
        for (int step = 0; step < 10; step++)
        {
            using var g = randn(8, 12) * (step + 1);
            gwt.zero_grad(); adamw.zero_grad();
            SetGrad(a, g); SetGrad(b, g);
            gwt.step(); adamw.step();
        }
        double diff = (a - b).abs().max().item<float>();
        Console.WriteLine($"max |GwtAdam(level 0) - TorchSharp AdamW| = {diff:E2}");
        Assert.IsLessThan(1e-6, diff, $"max |GwtAdam(level 0) - AdamW| = {diff}");
    }

    [TestMethod]
    public void CreateGroupsAsHuggingFacesTrainerDoes()
    {
        // GWT for the targets; AdamW with weight decay for other matrices; AdamW without it for biases and LayerNorms.
        using var query = new Parameter(randn(16, 32));
        using var embeddings = new Parameter(randn(50, 32));
        using var bias = new Parameter(randn(32));
        using var norm = new Parameter(ones(32));
        using var frozen = new Parameter(randn(16, 32), requires_grad: false);
        using var opt = GwtAdam.Create(new[]
        {
            ("encoder.layer.0.attention.self.query.weight", query), ("embeddings.word_embeddings.weight", embeddings),
            ("encoder.layer.0.attention.self.query.bias", bias), ("encoder.layer.0.output.LayerNorm.weight", norm),
            ("encoder.layer.1.attention.self.key.weight", frozen),
        }, new GwtAdamOptions { LearningRate = 0.02, WeightDecay = 0.01, Level = 2 }, null, out var targets);
        CollectionAssert.AreEqual(new[] { "encoder.layer.0.attention.self.query.weight" }, targets);
        var groups = opt.Groups;
        Assert.HasCount(3, groups);
        CollectionAssert.AreEqual(new[] { query.Handle }, groups[0].Parameters.Select(p => p.Handle).ToArray());
        Assert.IsTrue(groups[0].Options.Gwt!.Value);
        Assert.AreEqual(0.01, groups[0].Options.WeightDecay!.Value);
        CollectionAssert.AreEqual(new[] { embeddings.Handle }, groups[1].Parameters.Select(p => p.Handle).ToArray());
        Assert.IsFalse(groups[1].Options.Gwt!.Value);
        Assert.AreEqual(0.01, groups[1].Options.WeightDecay!.Value);
        CollectionAssert.AreEqual(new[] { bias.Handle, norm.Handle }, groups[2].Parameters.Select(p => p.Handle).ToArray());
        Assert.IsFalse(groups[2].Options.Gwt!.Value);
        Assert.AreEqual(0.0, groups[2].Options.WeightDecay!.Value);
    }

    [TestMethod]
    public void NonTargetedGroupsGetAdamWInsideTheSameOptimizer()
    {
        manual_seed(12);
        using var w0 = randn(16, 32);
        using var b0 = randn(32);
        using var w = new Parameter(w0.clone());
        using var bias = new Parameter(b0.clone());
        using var bRef = new Parameter(b0.clone());
        using var opt = GwtAdam.Create(new[] { ("encoder.layer.0.attention.self.query.weight", w), ("encoder.layer.0.attention.self.query.bias", bias) },
            new GwtAdamOptions { LearningRate = 0.02, WeightDecay = 0.01, Level = 2 });
        // Biases and LayerNorm parameters get AdamW without weight decay (Hugging Face's Trainer groups them so).
        using var adamw = optim.AdamW(new[] { bRef }, lr: 0.02, weight_decay: 0.0);
        var reference = new ReferenceGwtAdam(16, 32, 2, 1, 0.02, wd: 0.01, alpha: GwtAdam.DefaultAlpha);
        var expected = w0.to(ScalarType.Float64).data<double>().ToArray();
        for (int step = 0; step < 5; step++)
        {
            var g = Gradient(step, 16 * 32, 2);
            using var gb = randn(32);
            opt.zero_grad(); adamw.zero_grad();
            using (var gt = tensor(g.Select(v => (float)v).ToArray(), new long[] { 16, 32 })) SetGrad(w, gt);
            SetGrad(bias, gb); SetGrad(bRef, gb);
            opt.step(); adamw.step();
            reference.Step(expected, g);
        }
        Assert.IsTrue(opt.GetState(w).Compressed);
        Assert.IsFalse(opt.GetState(bias).Compressed);
        Assert.IsLessThan(1e-6, (bias - bRef).abs().max().item<float>());
        double maxDiff = expected.Zip(w.data<float>().ToArray(), (e, a) => Math.Abs(e - a)).Max();
        Assert.IsLessThan(2e-5, maxDiff);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void CompressedStateIsExactlyOneOverTwoToTheLevelOfAdamW(int level)
    {
        using var w = new Parameter(zeros(64, 256));
        using var opt = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { w }) }, new GwtAdamOptions { Gwt = true, Level = level });
        long adamW = 2L * w.numel() * sizeof(float);
        Assert.AreEqual(adamW >> level, opt.CompressedStateBytes);
        Assert.AreEqual(adamW >> level, opt.StateBytes);
        Assert.AreEqual(w.numel(), opt.CompressedParameterCount);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void LoadingAStateKeepsTheCallersHyperParametersUnlessAskedToRestoreThem(bool restore)
    {
        using var w1 = new Parameter(ones(4, 8));
        using var saved = GwtAdam.Create(new[] { ("encoder.layer.0.output.dense.weight", w1) },
            new GwtAdamOptions { LearningRate = 0.1, WeightDecay = 0.5, Alpha = 3, Beta1 = 0.8 });
        saved.zero_grad();
        SetGrad(w1, full(4, 8, 0.25f));
        saved.step();
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) saved.save_state_dict(writer);

        using var w2 = new Parameter(ones(4, 8));
        using var loaded = GwtAdam.Create(new[] { ("encoder.layer.0.output.dense.weight", w2) },
            new GwtAdamOptions { LearningRate = 0.01, WeightDecay = 0.0, Alpha = 2, Beta1 = 0.9 });
        ms.Position = 0;
        using (var reader = new BinaryReader(ms, System.Text.Encoding.UTF8, leaveOpen: true)) loaded.load_state_dict(reader, restore);
        var o = loaded.Groups[0].Options;
        Assert.AreEqual(restore ? 0.5 : 0.0, o.WeightDecay, "weight decay");
        Assert.AreEqual(restore ? 0.1 : 0.01, o.LearningRate, "learning rate");
        Assert.AreEqual(restore ? 3.0 : 2.0, o.Alpha, "alpha");
        Assert.AreEqual(restore ? 0.8 : 0.9, o.Beta1, "beta1");
        Assert.AreEqual(1, loaded.GetState(w2).Step, "the moments and step count always load");
        CollectionAssert.AreEqual(saved.GetState(w1).ExpAvg.data<float>().ToArray(), loaded.GetState(w2).ExpAvg.data<float>().ToArray());

        if (!restore)
        {
            // The inherited overload (TorchSharp's) keeps the caller's values too.
            using var w3 = new Parameter(ones(4, 8));
            using var plain = GwtAdam.Create(new[] { ("encoder.layer.0.output.dense.weight", w3) }, new GwtAdamOptions { WeightDecay = 0.0 });
            ms.Position = 0;
            using (var reader = new BinaryReader(ms)) plain.load_state_dict(reader);
            Assert.AreEqual(0.0, plain.Groups[0].Options.WeightDecay);
        }
    }

    [TestMethod]
    public void StateDictRoundTripResumesBitIdentically()
    {
        manual_seed(21);
        using var w0 = randn(12, 20);
        using var b0 = randn(20);
        var grads = Enumerable.Range(0, 8).Select(i => randn(12, 20) * (1 + i)).ToList();
        var gradsB = Enumerable.Range(0, 8).Select(_ => randn(20)).ToList();

        (GwtAdam, Parameter, Parameter) Make(Tensor wInit, Tensor bInit)
        {
            var w = new Parameter(wInit.detach().clone());
            var b = new Parameter(bInit.detach().clone());
            var o = GwtAdam.Create(new[] { ("x.encoder.layer.0.output.dense.weight", w), ("bias", b) },
                new GwtAdamOptions { LearningRate = 0.05, WeightDecay = 0.01, Level = 2 });
            return (o, w, b);
        }
        void Run(GwtAdam o, Parameter w, Parameter b, int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                o.zero_grad();
                SetGrad(w, grads[i]); SetGrad(b, gradsB[i]);
                o.step();
            }
        }

        var (full, wf, bf) = Make(w0, b0);
        Run(full, wf, bf, 0, 8);

        var (first, w1, b1) = Make(w0, b0);
        Run(first, w1, b1, 0, 4);
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) first.save_state_dict(writer);
        var (second, w2, b2) = Make(w1, b1);
        ms.Position = 0;
        using (var reader = new BinaryReader(ms)) second.load_state_dict(reader);
        Assert.IsTrue(first.GetState(w1).ApproximatelyEquals(second.GetState(w2)), "state after load");
        Assert.AreEqual(first.GetState(w1).PreviousNorm.item<double>(), second.GetState(w2).PreviousNorm.item<double>(), "norm");
        CollectionAssert.AreEqual(first.GetState(w1).ExpAvg.data<float>().ToArray(), second.GetState(w2).ExpAvg.data<float>().ToArray(), "m");
        Run(second, w2, b2, 4, 8);

        CollectionAssert.AreEqual(wf.data<float>().ToArray(), w2.data<float>().ToArray());
        CollectionAssert.AreEqual(bf.data<float>().ToArray(), b2.data<float>().ToArray());
        Assert.AreEqual(8, second.GetState(w2).Step);
    }

    [TestMethod]
    public void LearningRateSchedulerDrivesGroups()
    {
        using var w = new Parameter(zeros(4, 8));
        using var opt = GwtAdam.Create(new[] { ("encoder.layer.0.intermediate.dense.weight", w) }, new GwtAdamOptions { LearningRate = 0.1 });
        var sched = optim.lr_scheduler.StepLR(opt, step_size: 1, gamma: 0.5);
        for (int i = 0; i < 3; i++)
        {
            opt.zero_grad();
            using var g = ones(4, 8);
            SetGrad(w, g);
            opt.step();
            sched.step();
        }
        Assert.AreEqual(0.0125, opt.ParamGroups.First().LearningRate, 1e-12);
    }

    [TestMethod]
    public void InvalidOptionsNameTheProblem()
    {
        using var w = new Parameter(zeros(4, 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GwtAdam(new[] { new GwtAdamParamGroup(new[] { w }) }, new GwtAdamOptions { LearningRate = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GwtAdam(new[] { new GwtAdamParamGroup(new[] { w }) }, new GwtAdamOptions { Alpha = 0 }));
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new GwtAdam(new[] { new GwtAdamParamGroup(new[] { w }) }, new GwtAdamOptions { Gwt = true, Level = 2 }));
        StringAssert.Contains(ex.Message, "[4, 3]");
    }

    [TestMethod]
    public void FusedKernelWritesThroughTheTensorBuffer()
    {
        using var t = zeros(3);
        unsafe
        {
            fixed (byte* b = t.bytes) ((float*)b)[1] = 5f;
        }
        Assert.AreEqual(5f, t[1].item<float>());
    }

    [TestMethod]
    public void ConvergesLikeAdamWOnASmallMlp()
    {
        manual_seed(5);
        using var x = randn(512, 32);
        using var wTrue = randn(32, 4);
        using var y = x.matmul(wTrue).argmax(1);
        double Train(bool gwt)
        {
            manual_seed(6);
            using var model = nn.Sequential(("fc1", nn.Linear(32, 64)), ("act", nn.ReLU()), ("fc2", nn.Linear(64, 4)));
            using optim.Optimizer opt = gwt
                ? GwtAdam.Create(model.named_parameters(), new GwtAdamOptions { LearningRate = 0.01, Level = 2 }, (n, p) => n == "fc1.weight")
                : optim.AdamW(model.parameters(), lr: 0.01);
            double last = 0;
            for (int step = 0; step < 200; step++)
            {
                opt.zero_grad();
                using var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                opt.step();
                last = loss.item<float>();
            }
            return last;
        }
        double adamw = Train(false), gwtLoss = Train(true);
        Assert.IsLessThan(0.25, adamw, "AdamW baseline should fit");
        Assert.IsLessThan(adamw + 0.1, gwtLoss, $"GWT loss {gwtLoss:F4} vs AdamW {adamw:F4}");
    }
}
