namespace Microsoft.ML.Gwt.Training;

/// <summary>The one validator of trainer and pre-training options: a failed check names the option, its value and
/// what was expected.</summary>
internal static class OptionCheck
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> unless <paramref name="ok"/>.</summary>
    public static void Require(bool ok, string name, object? value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be {expected}.");
        }
    }

    /// <summary>Validates the optimization options shared by the trainer and the pre-trainer.</summary>
    public static void Optimization(IOptimizationOptions o)
    {
        Require(o.BatchSize > 0, nameof(o.BatchSize), o.BatchSize, "> 0");
        Require(o.MaxEpochs > 0, nameof(o.MaxEpochs), o.MaxEpochs, "> 0");
        Require(o.LearningRate is null || (o.LearningRate > 0 && double.IsFinite(o.LearningRate.Value)), nameof(o.LearningRate), o.LearningRate, "a finite number > 0");
        Require(o.WarmupFraction is >= 0 and < 1, nameof(o.WarmupFraction), o.WarmupFraction, "in [0, 1)");
        Require(o.WeightDecay >= 0 && double.IsFinite(o.WeightDecay), nameof(o.WeightDecay), o.WeightDecay, ">= 0");
        Require(o.GwtLevel is >= 0 and <= 16, nameof(o.GwtLevel), o.GwtLevel, "in [0, 16]");
        Require(o.GwtAlpha > 0 && double.IsFinite(o.GwtAlpha), nameof(o.GwtAlpha), o.GwtAlpha, "a finite number > 0");
        Require(o.GradientClipNorm >= 0 && double.IsFinite(o.GradientClipNorm), nameof(o.GradientClipNorm), o.GradientClipNorm, "a finite number >= 0 (0 disables clipping)");
        Require(o.GradientAccumulationSteps > 0, nameof(o.GradientAccumulationSteps), o.GradientAccumulationSteps, "> 0");
        Require(o.CheckpointEverySteps >= 0, nameof(o.CheckpointEverySteps), o.CheckpointEverySteps, ">= 0");
        Require(o.LogEverySteps > 0, nameof(o.LogEverySteps), o.LogEverySteps, "> 0");
    }
}
