using Microsoft.ML.Gwt.Pretraining;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>The optimization options the trainer and the pre-trainer share are validated alike, at both sides of each
/// boundary: a value out of range throws <see cref="ArgumentOutOfRangeException"/> naming the option and what was
/// expected; the value at the boundary is taken.</summary>
[TestClass]
public sealed class OptionCheckTests
{
    private static readonly (string Option, string Expected, object?[] Refused, object?[] Taken)[] Cases =
    {
        ("BatchSize", "> 0", new object?[] { 0, -1 }, new object?[] { 1 }),
        ("MaxEpochs", "> 0", new object?[] { 0, -3 }, new object?[] { 1 }),
        ("LearningRate", "a finite number > 0", new object?[] { 0.0, -1e-3, double.NaN, double.PositiveInfinity }, new object?[] { 1e-9, null }),
        ("WarmupFraction", "in [0, 1)", new object?[] { -0.01, 1.0, double.NaN }, new object?[] { 0.0, 0.999 }),
        ("WeightDecay", ">= 0", new object?[] { -1e-6, double.PositiveInfinity, double.NaN }, new object?[] { 0.0 }),
        ("GwtLevel", "in [0, 16]", new object?[] { -1, 17 }, new object?[] { 0, 16 }),
        ("GwtAlpha", "a finite number > 0", new object?[] { 0.0, -1.0, double.PositiveInfinity, double.NaN }, new object?[] { 1e-9 }),
        ("GradientClipNorm", "a finite number >= 0 (0 disables clipping)", new object?[] { -1e-6, double.PositiveInfinity, double.NaN }, new object?[] { 0.0 }),
        ("GradientAccumulationSteps", "> 0", new object?[] { 0 }, new object?[] { 1 }),
        ("CheckpointEverySteps", ">= 0", new object?[] { -1 }, new object?[] { 0 }),
        ("LogEverySteps", "> 0", new object?[] { 0 }, new object?[] { 1 }),
    };

    private static IEnumerable<(string Kind, object Options, Action Validate)> Fresh()
    {
        var trainer = new GwtTextClassificationTrainer.Options();
        yield return ("GwtTextClassificationTrainer.Options", trainer, trainer.Validate);
        var pretraining = new GwtPretrainingOptions { OutputFolder = Path.Combine(Path.GetTempPath(), "gwt-option-check") };
        yield return ("GwtPretrainingOptions", pretraining, pretraining.Validate);
    }

    [TestMethod]
    public void SharedOptimizationOptionsAreCheckedAtBothSidesOfEachBoundary()
    {
        foreach (var (option, expected, refused, taken) in Cases)
        {
            foreach (var value in refused)
            {
                foreach (var (kind, o, validate) in Fresh())
                {
                    o.GetType().GetProperty(option)!.SetValue(o, value);
                    var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(validate, $"{kind}.{option} = {value}");
                    Assert.AreEqual(option, e.ParamName, $"{kind}.{option} = {value}");
                    StringAssert.Contains(e.Message, $"{option} must be {expected}.", $"{kind}.{option} = {value}");
                }
            }
            foreach (var value in taken)
            {
                foreach (var (kind, o, validate) in Fresh())
                {
                    o.GetType().GetProperty(option)!.SetValue(o, value);
                    validate(); // no exception: the boundary value is valid
                }
            }
        }
    }
}
