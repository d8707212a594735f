using Microsoft.ML.Gwt.Trainers;
using TorchSharp;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Which parameters the GwtLevel check looks at (those GwtAdam compresses: selected, trainable, rank 2 or more)
/// and what it does with one that is too short: an <see cref="ArgumentOutOfRangeException"/> for <c>GwtLevel</c> whose
/// message names the parameter, its shape and the highest level that fits. It neither logs nor clamps the level: it
/// returns or throws. Every "not checked" case below is paired with the same weight in a checked position, where it
/// throws, so a check that looks at nothing (or at everything) fails here.</summary>
[TestClass]
public sealed class GwtLevelCheckTests
{
    private const string QueryWeight = "bert.encoder.layer.0.attention.self.query.weight"; // chosen by the default Gwt targets

    private static GwtTextClassificationTrainer.Options Level(int level) =>
        new() { GwtLevel = level, GwtTargetSelector = (_, _) => true };

    private static (string, Parameter) P(string name, bool trainable, params long[] shape) =>
        (name, new Parameter(torch.zeros(shape), requires_grad: trainable));

    /// <summary>The check's outcome: null when it returns, else the exception it threw (of the exact type it documents).</summary>
    private static ArgumentOutOfRangeException? Outcome(GwtTextClassificationTrainer.Options o, params (string, Parameter)[] parameters)
    {
        try
        {
            GwtLevelCheck.ThrowIfTooHigh(parameters, o);
            return null;
        }
        catch (ArgumentOutOfRangeException ex)
        {
            Assert.AreEqual(typeof(ArgumentOutOfRangeException), ex.GetType());
            return ex;
        }
    }

    private static void Rejects(GwtTextClassificationTrainer.Options o, (string, Parameter) parameter, string because)
    {
        var ex = Outcome(o, parameter);
        Assert.IsNotNull(ex, $"'{parameter.Item1}' should be rejected: {because}");
        Assert.AreEqual("GwtLevel", ex.ParamName);
    }

    [TestMethod]
    public void ATooShortCompressedWeightIsRejectedWithAMessageNamingItsShapeAndTheHighestLevelThatFits()
    {
        var ex = Outcome(Level(2), P("cube", true, 2, 2, 3));
        Assert.IsNotNull(ex, "the last dimension 3 < 2^2");
        Assert.AreEqual("GwtLevel", ex.ParamName);
        Assert.AreEqual(2, ex.ActualValue);
        Assert.AreEqual(
            "GwtLevel 2 is too high for 'cube', a GWT-compressed weight of shape [2, 2, 3]: A 2-level transform needs a dimension " +
            "of at least 4, but the transformed dimension has 3. Use GwtLevel <= 1, or leave 'cube' out with GwtTargetSelector. " +
            "(Parameter 'GwtLevel')" + Environment.NewLine + "Actual value was 2.", ex.Message);
    }

    [TestMethod]
    public void TheLastDimensionDecidesAndExactlyTwoToTheLevelFits()
    {
        Assert.IsNull(Outcome(Level(2), P("fits", true, 1, 4)), "4 = 2^2 fits");
        Assert.IsNull(Outcome(Level(3), P("wide", true, 2, 8)), "only the last dimension is transformed: 2 rows are fine");
        StringAssert.Contains(Outcome(Level(3), P("narrow", true, 8, 7))!.Message, "Use GwtLevel <= 2");
        StringAssert.Contains(Outcome(Level(1), P("single", true, 5, 1))!.Message, "Use GwtLevel <= 0");
    }

    [TestMethod]
    public void TheFirstTooShortWeightIsNamed()
    {
        var ex = Outcome(Level(2), P("ok", true, 4, 4), P("first", true, 4, 2), P("second", true, 4, 1));
        Assert.IsNotNull(ex);
        StringAssert.StartsWith(ex.Message, "GwtLevel 2 is too high for 'first', a GWT-compressed weight of shape [4, 2]:");
        Assert.DoesNotContain("'second'", ex.Message);
    }

    [TestMethod]
    public void OnlyTrainableMatricesAreChecked()
    {
        // At level 2 each of these would be too short, but GwtAdam leaves them uncompressed.
        Assert.IsNull(Outcome(Level(2), P("bias", true, 3), P("frozen", false, 4, 2)), "a vector and a frozen matrix are not checked");
        // The same lengths where GwtAdam compresses them are rejected.
        Rejects(Level(2), P("bias-as-matrix", true, 1, 3), "a trainable matrix with the bias's length");
        Rejects(Level(2), P("frozen-made-trainable", true, 4, 2), "the frozen matrix, trainable");
    }

    [TestMethod]
    public void UnselectedWeightsAreNotChecked()
    {
        var o = Level(2);
        o.GwtTargetSelector = (name, _) => name != "short";
        Assert.IsNull(Outcome(o, P("short", true, 4, 2)), "left out by GwtTargetSelector");
        Rejects(o, P("selected", true, 4, 2), "the same shape, selected");
    }

    [TestMethod]
    public void AdamWCompressesNothingSoChecksNothing()
    {
        var o = Level(2);
        o.Optimizer = GwtOptimizerKind.AdamW;
        o.GwtTargetSelector = null;
        Assert.IsNull(Outcome(o, P(QueryWeight, true, 4, 2)), "AdamW: no weight is compressed");
        o.Optimizer = GwtOptimizerKind.Gwt;
        Rejects(o, P(QueryWeight, true, 4, 2), "the same weight under Gwt's default targets");
    }

    [TestMethod]
    public void LevelZeroTransformsNothingSoChecksNothing()
    {
        Assert.IsNull(Outcome(Level(0), P("empty", true, 4, 0)), "level 0: nothing is transformed");
        Rejects(Level(1), P("empty", true, 4, 0), "a last dimension of 0 at level 1");
    }

    [TestMethod]
    public void NullArgumentsAreNamed()
    {
        Assert.AreEqual("parameters", Assert.ThrowsExactly<ArgumentNullException>(() => GwtLevelCheck.ThrowIfTooHigh(null!, Level(1))).ParamName);
        Assert.AreEqual("options", Assert.ThrowsExactly<ArgumentNullException>(() => GwtLevelCheck.ThrowIfTooHigh(Array.Empty<(string, Parameter)>(), null!)).ParamName);
    }
}
