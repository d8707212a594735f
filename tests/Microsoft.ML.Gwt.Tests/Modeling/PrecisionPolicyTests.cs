using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class PrecisionPolicyTests
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

    private sealed record Seen(string Kind, ScalarType Input, ScalarType Output);

    [TestMethod]
    [DataRow("bert")]
    [DataRow("distilbert")]
    [DataRow("deberta-v2")]
    [DataRow("electra")]
    public void BFloat16PolicyRunsEachOpInItsType(string modelType)
    {
        manual_seed(1);
        using var model = new TextClassificationModel(TestCheckpoints.Config(modelType), 3);
        model.eval();
        using var ids = randint(5, TestCheckpoints.Vocab, new long[] { 2, 9 });
        using var mask = ones(2, 9, ScalarType.Int64);
        mask[1, 6..] = zeros(3, ScalarType.Int64);
        using var reference = model.Forward(ids, mask).softmax(1);

        using var policy = PrecisionPolicy.Apply(model, ScalarType.BFloat16);
        foreach (var (name, p) in model.named_parameters())
        {
            bool norm = name.Contains("LayerNorm", StringComparison.Ordinal) || name.Contains("layer_norm", StringComparison.Ordinal);
            Assert.AreEqual(norm ? ScalarType.Float32 : ScalarType.BFloat16, p.dtype, name);
        }

        // Hooks registered after the policy's see what the layer itself computes on.
        var seen = new List<Seen>();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    Record(linear, "Linear", seen);
                    break;
                case LayerNorm norm:
                    Record(norm, "LayerNorm", seen);
                    break;
                case Embedding embedding:
                    Record(embedding, "Embedding", seen);
                    break;
            }
        }
        using var logits = model.Forward(ids, mask);
        Assert.AreEqual(ScalarType.Float32, logits.dtype, "logits");
        Assert.IsTrue(seen.Any(s => s.Kind == "Linear") && seen.Any(s => s.Kind == "LayerNorm"));
        foreach (var s in seen)
        {
            switch (s.Kind)
            {
                case "Linear":
                    Assert.AreEqual(ScalarType.BFloat16, s.Input, "Linear input");
                    Assert.AreEqual(ScalarType.BFloat16, s.Output, "Linear output");
                    break;
                case "LayerNorm":
                    Assert.AreEqual(ScalarType.Float32, s.Input, "LayerNorm statistics run on float32");
                    Assert.AreEqual(ScalarType.BFloat16, s.Output, "LayerNorm output, after the policy's hook");
                    break;
                default:
                    Assert.AreEqual(ScalarType.BFloat16, s.Output, "embedding gather");
                    break;
            }
        }

        // Numerics: probabilities agree with float32 to bfloat16's resolution.
        using var probs = logits.softmax(1);
        double diff = (probs - reference).abs().max().item<float>();
        Console.WriteLine($"{modelType}: max |p_bf16 - p_f32| = {diff:E2}");
        Assert.IsLessThan(0.02, diff);
    }

    private static void Record(nn.Module<Tensor, Tensor> module, string kind, List<Seen> seen)
    {
        ScalarType input = ScalarType.Float32;
        module.register_forward_pre_hook((_, x) => { input = x.dtype; return x; });
        module.register_forward_hook((_, _, y) => { seen.Add(new Seen(kind, input, y.dtype)); return y; });
    }

    [TestMethod]
    public void SoftmaxOfLowPrecisionScoresIsComputedInFloat32()
    {
        manual_seed(2);
        using var scores = (randn(4, 64) * 8).to(ScalarType.BFloat16);
        using var ours = PrecisionPolicy.Softmax(scores);
        using var wide = scores.to(ScalarType.Float32).softmax(-1).to(ScalarType.BFloat16);
        Assert.AreEqual(ScalarType.BFloat16, ours.dtype);
        Assert.IsTrue(Same(ours, wide), "softmax of bfloat16 scores is not the float32 softmax rounded once");
        using var f32 = randn(3, 5);
        using var same = PrecisionPolicy.Softmax(f32);
        using var plain = f32.softmax(-1);
        Assert.IsTrue(Same(same, plain), "float32 softmax changed");
    }

    [TestMethod]
    public void Float32PolicyChangesNothingAndDisposeRemovesHooks()
    {
        manual_seed(3);
        using var model = new TextClassificationModel(TestCheckpoints.Config("bert"), 2);
        model.eval();
        using var ids = randint(5, TestCheckpoints.Vocab, new long[] { 1, 6 });
        using var mask = ones(1, 6, ScalarType.Int64);
        using var before = model.Forward(ids, mask);
        using (PrecisionPolicy.Apply(model, ScalarType.Float32))
        {
            Assert.IsTrue(model.parameters().All(p => p.dtype == ScalarType.Float32));
            using var during = model.Forward(ids, mask);
            Assert.IsTrue(Same(during, before));
        }
        var policy = PrecisionPolicy.Apply(model, ScalarType.BFloat16);
        policy.Dispose();
        model.to(ScalarType.Float32);
        using var after = model.Forward(ids, mask); // without the hooks, LayerNorm sees bfloat16-rounded weights' outputs in float32
        Assert.AreEqual(ScalarType.Float32, after.dtype);
        Assert.ThrowsExactly<ArgumentException>(() => PrecisionPolicy.Apply(model, ScalarType.Float64));
    }
}
