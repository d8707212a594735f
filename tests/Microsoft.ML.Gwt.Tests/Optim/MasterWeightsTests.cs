using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Optim;

[TestClass]
public sealed class MasterWeightsTests
{
    /// <summary>Same type, shape and values.</summary>
    private static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape))
        {
            return false;
        }
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>Bfloat16-exact values (their float32 value has 16 zero low bits), so the reference sees what the optimizer reads.</summary>
    private static double[] BFloat16Exact(Random rng, int n, double scale) =>
        Enumerable.Range(0, n).Select(_ => (double)BitConverter.UInt32BitsToSingle(
            BitConverter.SingleToUInt32Bits((float)((rng.NextDouble() * 2 - 1) * scale)) & 0xFFFF0000u)).ToArray();

    public static IEnumerable<object[]> Cases()
    {
        foreach (int level in new[] { 0, 2 })
        {
            foreach (bool fused in new[] { true, false })
            {
                foreach (var (rows, cols) in new[] { (6, 16), (5, 13), (3, 67) })
                {
                    yield return new object[] { level, fused, rows, cols };
                }
            }
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BFloat16ParameterFollowsFloat32ReferenceThroughMasterWeights(int level, bool fused, int rows, int cols)
    {
        // Independent reference: the double-precision scalar GWT-Adam (level 0: AdamW) on double weights, fed the same
        // bfloat16-exact gradients times the gradient scale. The bfloat16 parameter must be its master weights rounded.
        const double lr = 0.01, wd = 0.1, alpha = 0.7, gradScale = 0.25;
        var rng = new Random(3);
        var init = BFloat16Exact(rng, rows * cols, 1);
        using var p = new Parameter(tensor(init, new long[] { rows, cols }).to(ScalarType.BFloat16));
        using var opt = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { p }) },
            new GwtAdamOptions { LearningRate = lr, WeightDecay = wd, Gwt = true, Level = level, Alpha = alpha, NormGrowthLimiter = true })
        { UseFusedCpuKernels = fused, GradientScale = gradScale };
        var reference = new ReferenceGwtAdam(rows, cols, level, 1, lr, wd: wd, alpha: level == 0 ? 1 : alpha, limiter: true);
        var expected = (double[])init.Clone();
        for (int step = 0; step < 6; step++)
        {
            var g = BFloat16Exact(rng, rows * cols, 1 + 0.5 * step);
            opt.zero_grad();
            using (var gt = tensor(g, new long[] { rows, cols }).to(ScalarType.BFloat16))
            {
                GwtAdamTests.SetGrad(p, gt);
            }
            Assert.AreEqual(ScalarType.BFloat16, p.grad!.dtype);
            opt.step();
            reference.Step(expected, g.Select(x => x * gradScale).ToArray());
        }
        var state = opt.GetState(p);
        Assert.IsNotNull(state.Master);
        Assert.AreEqual(ScalarType.Float32, state.Master.dtype);
        Assert.AreEqual(ScalarType.Float32, state.ExpAvg.dtype);
        Assert.AreEqual(ScalarType.BFloat16, p.dtype);
        var master = state.Master.to(ScalarType.Float64).data<double>().ToArray();
        double maxRel = expected.Zip(master, (e, a) => Math.Abs(e - a) / Math.Max(1, Math.Abs(e))).Max();
        Console.WriteLine($"level {level} fused {fused} [{rows}x{cols}]: max relative |reference - master| = {maxRel:E2}");
        Assert.IsLessThan(5e-5, maxRel, $"master weights deviate from the float64 reference by {maxRel}");
        using var rounded = state.Master.to(ScalarType.BFloat16);
        Assert.IsTrue(Same(rounded, p), "the bfloat16 parameter is not its master weights rounded to nearest even");
        // The master weights carry what bfloat16 cannot: the updates (lr 0.01 on weights near 1) are below bfloat16's step.
        using var widened = p.to(ScalarType.Float32);
        Assert.IsFalse(Same(widened, state.Master), "master weights hold nothing beyond the bfloat16 parameter");
        Assert.AreEqual(rows * cols * 4L, opt.MasterWeightBytes);
    }

    [TestMethod]
    public void BFloat16RoundingMatchesLibtorch()
    {
        // Ties, subnormals, infinities and random values: our conversion must give libtorch's bits exactly.
        var rng = new Random(5);
        var values = Enumerable.Range(0, 4096).Select(_ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-40, 38))))
            .Concat(new[] { 1f + 1f / 256, 1f + 3f / 256, -1f - 1f / 256, float.Epsilon, -float.Epsilon, 0f, -0f, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, 3.3961776e38f })
            .ToArray();
        using var t = tensor(values);
        using var b = t.to(ScalarType.BFloat16);
        var expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(b.bytes).ToArray();
        var scalar = values.Select(Microsoft.ML.Gwt.Optim.BFloat16.FromSingle).ToArray();
        CollectionAssert.AreEqual(expected, scalar);
        var vectored = new ushort[values.Length];
        unsafe
        {
            fixed (float* src = values)
            fixed (ushort* dst = vectored)
            {
                Microsoft.ML.Gwt.Optim.BFloat16.Narrow(src, dst, values.Length);
            }
        }
        CollectionAssert.AreEqual(expected, vectored);
    }

    [TestMethod]
    public void StateWithMasterWeightsRoundTripsAndResumesBitIdentically()
    {
        manual_seed(2);
        using var w0 = randn(8, 16).to(ScalarType.BFloat16);
        using var a = new Parameter(w0.clone());
        using var b = new Parameter(w0.clone());
        GwtAdam Make(Parameter p) => new(new[] { new GwtAdamParamGroup(new[] { p }) }, new GwtAdamOptions { LearningRate = 0.01, Gwt = true, Level = 2 });
        using var first = Make(a);
        var grads = Enumerable.Range(0, 6).Select(_ => randn(8, 16).to(ScalarType.BFloat16)).ToList();
        for (int s = 0; s < 3; s++)
        {
            first.zero_grad();
            GwtAdamTests.SetGrad(a, grads[s]);
            first.step();
        }
        var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            first.save_state_dict(w);
        }
        using var second = Make(b); // b still holds the initial weights: loading the state must restore them from the masters
        stream.Position = 0;
        using (var r = new BinaryReader(stream))
        {
            second.load_state_dict(r);
        }
        Assert.IsTrue(Same(a, b), "loading the state did not write the master weights back to the parameter");
        for (int s = 3; s < 6; s++)
        {
            first.zero_grad(); second.zero_grad();
            GwtAdamTests.SetGrad(a, grads[s]); GwtAdamTests.SetGrad(b, grads[s]);
            first.step(); second.step();
        }
        Assert.IsTrue(Same(first.GetState(a).Master!, second.GetState(b).Master!), "resumed master weights differ");
        Assert.IsTrue(Same(a, b));
        grads.ForEach(g => g.Dispose());
    }

    [TestMethod]
    public void StateWithoutMasterWeightsIsRefusedByAnOptimizerWithThem()
    {
        using var a = new Parameter(randn(4, 8).to(ScalarType.BFloat16));
        using var without = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { a }) }, new GwtAdamOptions { MasterWeights = false });
        using var with = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { a }) });
        Assert.IsNull(without.GetState(a).Master);
        var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            without.save_state_dict(w);
        }
        stream.Position = 0;
        using var r = new BinaryReader(stream);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => with.load_state_dict(r));
        StringAssert.Contains(ex.Message, "master weights=False");
    }

    [TestMethod]
    public void Float32ParametersGetNoMasterWeightsAndTheSameSteps()
    {
        manual_seed(4);
        using var w0 = randn(6, 8);
        using var a = new Parameter(w0.clone());
        using var b = new Parameter(w0.clone());
        using var with = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { a }) }, new GwtAdamOptions { LearningRate = 0.01, Gwt = true });
        using var without = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { b }) }, new GwtAdamOptions { LearningRate = 0.01, Gwt = true, MasterWeights = false });
        using var g = randn(6, 8);
        GwtAdamTests.SetGrad(a, g); GwtAdamTests.SetGrad(b, g);
        with.step(); without.step();
        Assert.IsNull(with.GetState(a).Master);
        Assert.AreEqual(0L, with.MasterWeightBytes);
        Assert.IsTrue(Same(a, b));
    }
}
