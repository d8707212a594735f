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

    /// <summary>Whether parameters stored in a low precision (bfloat16, float16) get float32 master weights (default
    /// true): the optimizer keeps a float32 copy of each such parameter and float32 moments, reads the low-precision
    /// gradient into float32, updates the float32 copy and writes it back rounded to the parameter's type after each
    /// step. Without it a bfloat16 parameter would be updated in bfloat16, where updates below 2^-8 of the weight are
    /// lost. Float32 parameters are unaffected. Fixes the state's layout: it is never taken from a saved state.</summary>
    public bool? MasterWeights { get; set; }

    /// <summary>Set by <see cref="GwtAdam.load_state_dict(BinaryReader, bool)"/> while it loads: whether saved
    /// hyper-parameters replace this group's.</summary>
    internal bool RestoreHyperParametersOnLoad { get; set; }

    /// <summary>
    /// Takes another group's options when <see cref="GwtAdam"/> loads a state dictionary. The caller's hyper-parameters
    /// (learning rate, betas, eps, weight decay, alpha, limiter) are kept unless the load was asked to restore them
    /// (<see cref="GwtAdam.load_state_dict(TorchSharp.torch.optim.Optimizer.StateDictionary, bool)"/> with
    /// <c>restoreHyperParameters: true</c>). <see cref="Gwt"/>, <see cref="Level"/> and <see cref="Axis"/> fix the
    /// state's layout and are never replaced; a state of another layout is refused when the moments load.
    /// </summary>
    public override void LoadStateDict(OptimizerOptions source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (RestoreHyperParametersOnLoad)
        {
            var o = (GwtAdamOptions)source;
            Restore(o.LearningRate, o.InitialLearningRate, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Alpha, o.NormGrowthLimiter, o.LimiterGrowth);
        }
    }

    /// <summary>
    /// Reads this group's saved options from a <see cref="GwtAdam"/> state stream. As with
    /// <see cref="LoadStateDict(OptimizerOptions)"/>, the saved hyper-parameters replace the caller's only when the load
    /// was asked to restore them (<see cref="GwtAdam.load_state_dict(BinaryReader, bool)"/>); by default they are read
    /// and dropped.
    /// </summary>
    public override void LoadStateDict(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        double? lr = LearningRate;
        double initial = InitialLearningRate;
        base.LoadStateDict(reader);
        double? savedLr = LearningRate;
        double savedInitial = InitialLearningRate;
        LearningRate = lr;
        InitialLearningRate = initial;
        double beta1 = reader.ReadDouble(), beta2 = reader.ReadDouble(), eps = reader.ReadDouble(), weightDecay = reader.ReadDouble();
        reader.ReadBoolean(); // Gwt: layout, never replaced
        reader.ReadInt32(); // Level: layout
        double alpha = reader.ReadDouble();
        reader.ReadInt32(); // Axis: layout
        bool limiter = reader.ReadBoolean();
        double growth = reader.ReadDouble();
        if (RestoreHyperParametersOnLoad)
        {
            Restore(savedLr, savedInitial, beta1, beta2, eps, weightDecay, alpha, limiter, growth);
        }
    }

    private void Restore(double? lr, double initialLr, double? beta1, double? beta2, double? eps, double? weightDecay, double? alpha,
        bool? limiter, double? growth)
    {
        LearningRate = lr;
        InitialLearningRate = initialLr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        Alpha = alpha;
        NormGrowthLimiter = limiter;
        LimiterGrowth = growth;
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
        MasterWeights ??= d.MasterWeights;
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
