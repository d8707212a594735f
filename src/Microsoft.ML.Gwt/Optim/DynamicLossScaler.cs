namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// Dynamic loss scaling for float16 training, with the rule and defaults of <c>torch.amp.GradScaler</c>: the loss is
/// multiplied by <see cref="Scale"/> before backward so that small float16 gradients do not flush to zero; a step whose
/// gradients overflowed (a non-finite value) is skipped and the scale halved; after <see cref="GrowthInterval"/> steps
/// in a row without overflow the scale doubles. The unscaling happens in float32 inside the optimizer
/// (<see cref="GwtAdam.GradientScale"/>), never in float16.
/// </summary>
public sealed class DynamicLossScaler
{
    /// <summary>Creates a scaler.</summary>
    /// <param name="initialScale">The first scale (default 65536, as <c>GradScaler</c>).</param>
    /// <param name="growthInterval">Overflow-free steps before the scale doubles (default 2000).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive.</exception>
    public DynamicLossScaler(double initialScale = 65536.0, int growthInterval = 2000)
    {
        if (!(initialScale > 0) || double.IsInfinity(initialScale))
        {
            throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, "The initial loss scale must be a finite number > 0.");
        }
        if (growthInterval < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "The growth interval must be at least 1 step.");
        }
        Scale = initialScale;
        GrowthInterval = growthInterval;
    }

    /// <summary>The factor the loss is multiplied by before backward.</summary>
    public double Scale { get; private set; }

    /// <summary>Overflow-free steps in a row since the scale last changed.</summary>
    public int GoodSteps { get; private set; }

    /// <summary>Overflow-free steps after which the scale doubles.</summary>
    public int GrowthInterval { get; }

    /// <summary>Steps skipped because their gradients overflowed.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>
    /// Ends a step: when <paramref name="gradientsFinite"/> (the scaled gradients, or their norm, are all finite) the
    /// optimizer steps with its <see cref="GwtAdam.GradientScale"/> set to <c>extraScale / Scale</c> (for example a
    /// clipping factor as <paramref name="extraScale"/>), then the scale may grow; otherwise the step is skipped (the
    /// optimizer is not called, so weights and moments stay as they were) and the scale halves. Returns whether the
    /// optimizer stepped.
    /// </summary>
    /// <param name="optimizer">The optimizer to step.</param>
    /// <param name="gradientsFinite">Whether every scaled gradient is finite.</param>
    /// <param name="extraScale">Another factor for the gradients (default 1), applied with the unscaling.</param>
    public bool Step(GwtAdam optimizer, bool gradientsFinite, double extraScale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!gradientsFinite)
        {
            Scale *= 0.5;
            GoodSteps = 0;
            SkippedSteps++;
            return false;
        }
        double previous = optimizer.GradientScale;
        optimizer.GradientScale = extraScale / Scale;
        try
        {
            optimizer.step();
        }
        finally
        {
            optimizer.GradientScale = previous;
        }
        if (++GoodSteps >= GrowthInterval)
        {
            Scale *= 2.0;
            GoodSteps = 0;
        }
        return true;
    }

    /// <summary>Restores a state saved from <see cref="Scale"/>, <see cref="GoodSteps"/> and <see cref="SkippedSteps"/>
    /// (a resumed run continues with the same scale).</summary>
    public void Restore(double scale, int goodSteps, long skippedSteps)
    {
        if (!(scale > 0) || double.IsInfinity(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The loss scale must be a finite number > 0.");
        }
        Scale = scale;
        GoodSteps = goodSteps;
        SkippedSteps = skippedSteps;
    }
}
