using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// Per-parameter-group options of <see cref="GwtAdam"/>. Unset values are taken from the optimizer's defaults.
/// </summary>
public sealed class GwtAdamOptions : OptimizerOptions
{
    /// <summary>Coefficient of the running average of the gradient (default 0.9).</summary>
    public double? Beta1 { get; set; }

    /// <summary>Coefficient of the running average of the squared gradient (default 0.999).</summary>
    public double? Beta2 { get; set; }

    /// <summary>Term added to the denominator (default 1e-8), placed as in <c>torch.optim.AdamW</c>: <c>sqrt(v̂) + eps</c>.</summary>
    public double? Eps { get; set; }

    /// <summary>Decoupled weight decay (default 0): <c>p *= 1 - lr · weight_decay</c> before the update.</summary>
    public double? WeightDecay { get; set; }

    /// <summary>Whether GWT compresses this group's 2-D (or higher) parameters (default false: plain AdamW).</summary>
    public bool? Gwt { get; set; }

    /// <summary>Haar levels <c>l</c> (default 2): Adam state shrinks by 2^l. Level 0 is plain AdamW.</summary>
    public int? Level { get; set; }

    /// <summary>Scale of the GWT update (default <see cref="GwtAdam.DefaultAlpha"/>).</summary>
    public double? Alpha { get; set; }

    /// <summary>The axis the wavelet transform runs along (default -1, the last: a Linear weight's input features).</summary>
    public int? Axis { get; set; }

    /// <summary>Norm-growth limiter of Fira, as in the GWT reference (default true): the update's norm may grow at most
    /// <see cref="LimiterGrowth"/>× per step.</summary>
    public bool? NormGrowthLimiter { get; set; }

    /// <summary>Largest allowed growth of the normalized approximation's norm per step (default 1.01).</summary>
    public double? LimiterGrowth { get; set; }

    /// <inheritdoc />
    public override void LoadStateDict(OptimizerOptions source)
    {
        base.LoadStateDict(source);
        var o = (GwtAdamOptions)source;
        Beta1 = o.Beta1;
        Beta2 = o.Beta2;
        Eps = o.Eps;
        WeightDecay = o.WeightDecay;
        Gwt = o.Gwt;
        Level = o.Level;
        Alpha = o.Alpha;
        Axis = o.Axis;
        NormGrowthLimiter = o.NormGrowthLimiter;
        LimiterGrowth = o.LimiterGrowth;
    }

    /// <inheritdoc />
    public override void LoadStateDict(BinaryReader reader)
    {
        base.LoadStateDict(reader);
        Beta1 = reader.ReadDouble();
        Beta2 = reader.ReadDouble();
        Eps = reader.ReadDouble();
        WeightDecay = reader.ReadDouble();
        Gwt = reader.ReadBoolean();
        Level = reader.ReadInt32();
        Alpha = reader.ReadDouble();
        Axis = reader.ReadInt32();
        NormGrowthLimiter = reader.ReadBoolean();
        LimiterGrowth = reader.ReadDouble();
    }

    /// <inheritdoc />
    public override void SaveStateDict(BinaryWriter writer)
    {
        base.SaveStateDict(writer);
        writer.Write(Beta1!.Value);
        writer.Write(Beta2!.Value);
        writer.Write(Eps!.Value);
        writer.Write(WeightDecay!.Value);
        writer.Write(Gwt!.Value);
        writer.Write(Level!.Value);
        writer.Write(Alpha!.Value);
        writer.Write(Axis!.Value);
        writer.Write(NormGrowthLimiter!.Value);
        writer.Write(LimiterGrowth!.Value);
    }

    internal void FillFrom(GwtAdamOptions d)
    {
        LearningRate ??= d.LearningRate;
        Beta1 ??= d.Beta1;
        Beta2 ??= d.Beta2;
        Eps ??= d.Eps;
        WeightDecay ??= d.WeightDecay;
        Gwt ??= d.Gwt;
        Level ??= d.Level;
        Alpha ??= d.Alpha;
        Axis ??= d.Axis;
        NormGrowthLimiter ??= d.NormGrowthLimiter;
        LimiterGrowth ??= d.LimiterGrowth;
        InitialLearningRate = LearningRate!.Value;
    }

    internal void Validate(string paramName)
    {
        if (!(LearningRate >= 0) || double.IsInfinity(LearningRate!.Value))
        {
            throw new ArgumentOutOfRangeException(paramName, LearningRate, "The learning rate must be a finite number >= 0.");
        }
        if (!(Beta1 >= 0 && Beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(paramName, Beta1, "Beta1 must be in [0, 1).");
        }
        if (!(Beta2 >= 0 && Beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(paramName, Beta2, "Beta2 must be in [0, 1).");
        }
        if (!(Eps >= 0))
        {
            throw new ArgumentOutOfRangeException(paramName, Eps, "Eps must be >= 0.");
        }
        if (!(WeightDecay >= 0))
        {
            throw new ArgumentOutOfRangeException(paramName, WeightDecay, "Weight decay must be >= 0.");
        }
        if (Level is < 0 or > 30)
        {
            throw new ArgumentOutOfRangeException(paramName, Level, "The GWT level must be between 0 and 30.");
        }
        if (!(Alpha > 0) || double.IsInfinity(Alpha!.Value))
        {
            throw new ArgumentOutOfRangeException(paramName, Alpha, "Alpha must be a finite number > 0.");
        }
        if (!(LimiterGrowth >= 1))
        {
            throw new ArgumentOutOfRangeException(paramName, LimiterGrowth, "The limiter growth must be >= 1.");
        }
    }
}

/// <summary>A parameter group of <see cref="GwtAdam"/>.</summary>
public sealed class GwtAdamParamGroup : ParamGroup<GwtAdamOptions>
{
    /// <summary>Creates an empty group.</summary>
    public GwtAdamParamGroup()
    {
    }

    /// <summary>Creates a group with its own options; unset options come from the optimizer's defaults.</summary>
    public GwtAdamParamGroup(IEnumerable<Parameter> parameters, GwtAdamOptions? options = null)
        : base(parameters, options ?? new GwtAdamOptions())
    {
    }
}
