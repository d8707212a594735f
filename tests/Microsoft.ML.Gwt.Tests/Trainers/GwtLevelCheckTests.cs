using Microsoft.ML.Gwt.Trainers;
using TorchSharp;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Which parameters the GwtLevel check looks at: those GwtAdam compresses (selected, trainable, rank 2 or more).</summary>
[TestClass]
public sealed class GwtLevelCheckTests
{
    private static GwtTextClassificationTrainer.Options Level(int level) =>
        new() { GwtLevel = level, GwtTargetSelector = (_, _) => true };

    private static (string, Parameter) P(string name, bool trainable, params long[] shape) =>
        (name, new Parameter(torch.zeros(shape), requires_grad: trainable));

    [TestMethod]
    public void OnlyTrainableMatricesAreChecked()
    {
        // At level 2 each of these would be too short, but GwtAdam leaves them uncompressed.
        GwtLevelCheck.ThrowIfTooHigh(new[] { P("bias", true, 3), P("frozen", false, 4, 2) }, Level(2));
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => GwtLevelCheck.ThrowIfTooHigh(new[] { P("cube", true, 2, 2, 3) }, Level(2)));
        Assert.AreEqual("GwtLevel", ex.ParamName);
        StringAssert.Contains(ex.Message, "'cube'");
        StringAssert.Contains(ex.Message, "[2, 2, 3]");
        StringAssert.Contains(ex.Message, "GwtLevel <= 1");
    }

    [TestMethod]
    public void UnselectedAndLevelZeroAreNotChecked()
    {
        var o = Level(2);
        o.GwtTargetSelector = (name, _) => name != "short";
        GwtLevelCheck.ThrowIfTooHigh(new[] { P("short", true, 4, 2) }, o);
        o.Optimizer = GwtOptimizerKind.AdamW; // AdamW compresses nothing
        o.GwtTargetSelector = null;
        GwtLevelCheck.ThrowIfTooHigh(new[] { P("bert.encoder.layer.0.attention.self.query.weight", true, 4, 2) }, o);
        GwtLevelCheck.ThrowIfTooHigh(new[] { P("empty", true, 4, 0) }, Level(0)); // level 0: nothing is transformed
    }

    [TestMethod]
    public void NullArgumentsAreNamed()
    {
        Assert.AreEqual("parameters", Assert.ThrowsExactly<ArgumentNullException>(() => GwtLevelCheck.ThrowIfTooHigh(null!, Level(1))).ParamName);
        Assert.AreEqual("options", Assert.ThrowsExactly<ArgumentNullException>(() => GwtLevelCheck.ThrowIfTooHigh(Array.Empty<(string, Parameter)>(), null!)).ParamName);
    }
}
