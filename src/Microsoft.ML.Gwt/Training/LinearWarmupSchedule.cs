namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// Linear warm-up then linear decay to 0, as Hugging Face's <c>get_linear_schedule_with_warmup</c>: optimizer step
/// <c>k</c> (counted from 0) of <c>T</c> gets <c>peak · k / W</c> while <c>k &lt; W</c>, then
/// <c>peak · max(0, (T - k) / max(1, T - W))</c>. The warm-up length is <c>W = ceil(T · fraction)</c> (as the Hugging Face
/// Trainer's <c>warmup_ratio</c>), capped at <c>T - 1</c> so that at least one step has a learning rate above 0
/// (a one-step run trains at the peak rate).
/// </summary>
internal sealed class LinearWarmupSchedule
{
    public LinearWarmupSchedule(double peakLearningRate, long totalSteps, double warmupFraction)
    {
        if (totalSteps < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "A run needs at least one optimizer step.");
        }
        PeakLearningRate = peakLearningRate;
        TotalSteps = totalSteps;
        WarmupSteps = Math.Min((long)Math.Ceiling(totalSteps * warmupFraction), totalSteps - 1);
    }

    /// <summary>The learning rate after warm-up.</summary>
    public double PeakLearningRate { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>Steps of linear warm-up.</summary>
    public long WarmupSteps { get; }

    /// <summary>The learning rate of optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return PeakLearningRate * step / Math.Max(1, WarmupSteps);
        }
        return PeakLearningRate * Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
    }
}
