using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Optim;

[TestClass]
public sealed class DynamicLossScalerTests
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

    /// <summary>Backward of <c>scale · sum(p · w)</c> for a float16 parameter: its gradient is <c>scale · w</c> rounded to
    /// float16, which overflows to infinity above 65504.</summary>
    private static bool ScaledBackward(Parameter p, Tensor w, double scale)
    {
        using var loss = (p.to(ScalarType.Float32) * w).sum() * scale;
        loss.backward();
        using var finite = p.grad!.isfinite().all();
        return finite.item<bool>();
    }

    [TestMethod]
    public void OverflowingStepsAreSkippedAndTheScaleHalvesThenGrows()
    {
        // Float16 on the CPU: the loss-scaling logic, with real float16 gradients that overflow at the first scales.
        using var p = new Parameter(tensor(new float[] { 1f, -0.5f, 0.25f, 2f }).to(ScalarType.Float16));
        using var w = tensor(new float[] { 2f, -1f, 0.5f, 1.5f }); // |scale · w| > 65504 overflows float16
        using var opt = new GwtAdam(new[] { new GwtAdamParamGroup(new[] { p }) }, new GwtAdamOptions { LearningRate = 0.1 });
        var scaler = new DynamicLossScaler(initialScale: 65536, growthInterval: 2);
        var state = opt.GetState(p);
        using var before = state.Master!.clone();

        // 65536 · 2 and 32768 · 2 overflow: skipped, weights and moments untouched, scale halved each time.
        foreach (double expectedScale in new[] { 32768.0, 16384.0 })
        {
            opt.zero_grad();
            bool finite = ScaledBackward(p, w, scaler.Scale);
            Assert.IsFalse(finite);
            Assert.IsFalse(scaler.Step(opt, finite));
            Assert.AreEqual(expectedScale, scaler.Scale);
            Assert.AreEqual(0L, state.Step);
            Assert.IsTrue(Same(state.Master, before));
            Assert.AreEqual(0.0, state.ExpAvg.abs().sum().item<float>());
        }

        // 16384 · 2 = 32768 fits: the step runs with the gradient unscaled in float32, exactly AdamW's first step.
        opt.zero_grad();
        Assert.IsTrue(ScaledBackward(p, w, scaler.Scale));
        Assert.IsTrue(scaler.Step(opt, gradientsFinite: true));
        Assert.AreEqual(1L, state.Step);
        Assert.AreEqual(1.0, opt.GradientScale, "the scaler leaves the optimizer's own gradient scale as it was");
        // AdamW step 1 from zero moments moves each weight by lr · sign(g) (|g| >> eps).
        var expected = new[] { 1f - 0.1f, -0.5f + 0.1f, 0.25f - 0.1f, 2f - 0.1f };
        var master = state.Master.data<float>().ToArray();
        for (int i = 0; i < 4; i++)
        {
            Assert.AreEqual(expected[i], master[i], 1e-6f, $"element {i}");
        }
        using var m = state.ExpAvg.clone();
        CollectionAssert.AreEqual(new[] { 0.2f, -0.1f, 0.05f, 0.15f }, m.data<float>().ToArray().Select(x => MathF.Round(x, 6)).ToArray(),
            "the first moment holds 0.1 · the unscaled gradient");

        // A second good step in a row reaches the growth interval: the scale doubles.
        opt.zero_grad();
        Assert.IsTrue(ScaledBackward(p, w, scaler.Scale));
        Assert.IsTrue(scaler.Step(opt, gradientsFinite: true));
        Assert.AreEqual(32768.0, scaler.Scale);
        Assert.AreEqual(0, scaler.GoodSteps);
        Assert.AreEqual(2L, scaler.SkippedSteps);
    }

    [TestMethod]
    public void InvalidArgumentsNameTheArgument()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DynamicLossScaler(initialScale: 0));
        Assert.AreEqual("initialScale", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DynamicLossScaler(growthInterval: 0));
        Assert.AreEqual("growthInterval", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DynamicLossScaler().Restore(double.NaN, 0, 0));
        Assert.AreEqual("scale", ex.ParamName);
    }
}
