using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// The state <see cref="GwtAdam"/> keeps for one parameter: the step count and Adam's two moments, which for a
/// GWT-compressed parameter cover only the wavelet approximation (1/2^l of the parameter along the transformed axis),
/// plus the norm the growth limiter compares against.
/// </summary>
public sealed class GwtAdamState : OptimizerState, IDisposable
{
    internal GwtAdamState(Parameter parameter, bool compressed, int level, int axis)
        : base(parameter)
    {
        Compressed = compressed;
        Level = compressed ? level : 0;
        Axis = axis;
        var shape = (long[])parameter.shape.Clone();
        if (compressed)
        {
            shape[axis] = Wavelets.HaarWavelet.ApproximationLength(shape[axis], level);
        }
        ExpAvg = torch.zeros(shape, parameter.dtype, parameter.device);
        ExpAvgSq = torch.zeros(shape, parameter.dtype, parameter.device);
        PreviousNorm = torch.zeros(Array.Empty<long>(), ScalarType.Float64, parameter.device);
    }

    /// <summary>Steps taken for this parameter.</summary>
    public long Step { get; internal set; }

    /// <summary>Whether this parameter's update goes through the wavelet transform.</summary>
    public bool Compressed { get; }

    /// <summary>The number of Haar levels (0 when not compressed).</summary>
    public int Level { get; }

    /// <summary>The (non-negative) axis the transform runs along.</summary>
    public int Axis { get; }

    /// <summary>First moment (of the approximation coefficients when compressed).</summary>
    public Tensor ExpAvg { get; private set; }

    /// <summary>Second moment (of the approximation coefficients when compressed).</summary>
    public Tensor ExpAvgSq { get; private set; }

    /// <summary>The limited norm of the previous step's normalized approximation (0-D, float64).</summary>
    public Tensor PreviousNorm { get; private set; }

    /// <summary>Bytes held by the two moments.</summary>
    public long MomentBytes => (ExpAvg.numel() + ExpAvgSq.numel()) * ExpAvg.ElementSize;

    /// <inheritdoc />
    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
        PreviousNorm.Dispose();
    }

    /// <inheritdoc />
    public override void to(Device device)
    {
        ExpAvg = Move(ExpAvg, device);
        ExpAvgSq = Move(ExpAvgSq, device);
        PreviousNorm = Move(PreviousNorm, device);
    }

    /// <inheritdoc />
    public override void SaveStateDict(BinaryWriter writer)
    {
        writer.Write(Step);
        writer.Write(Compressed);
        writer.Write(Level);
        writer.Write(Axis);
        ExpAvg.Save(writer);
        ExpAvgSq.Save(writer);
        PreviousNorm.Save(writer);
    }

    /// <inheritdoc />
    public override void LoadStateDict(BinaryReader reader)
    {
        long step = reader.ReadInt64();
        bool compressed = reader.ReadBoolean();
        int level = reader.ReadInt32();
        int axis = reader.ReadInt32();
        if (compressed != Compressed || level != Level || axis != Axis)
        {
            throw new InvalidDataException(
                $"Optimizer state was saved with compressed={compressed}, level={level}, axis={axis}, but this optimizer has " +
                $"compressed={Compressed}, level={Level}, axis={Axis} for the parameter of shape [{string.Join(", ", _parameter.shape)}].");
        }
        Step = step;
        ExpAvg.Load(reader);
        ExpAvgSq.Load(reader);
        PreviousNorm.Load(reader);
    }

    /// <inheritdoc />
    public override void LoadStateDict(OptimizerState source)
    {
        var s = (GwtAdamState)source;
        Step = s.Step;
        using (torch.no_grad())
        {
            ExpAvg.copy_(s.ExpAvg);
            ExpAvgSq.copy_(s.ExpAvgSq);
            PreviousNorm.copy_(s.PreviousNorm);
        }
    }

    /// <inheritdoc />
    public override bool ApproximatelyEquals(OptimizerState other) =>
        other is GwtAdamState s && s.Step == Step && s.Compressed == Compressed && s.Level == Level &&
        ExpAvg.allclose(s.ExpAvg) && ExpAvgSq.allclose(s.ExpAvgSq) && PreviousNorm.allclose(s.PreviousNorm);

    /// <inheritdoc />
    public override void Initialize(OptimizerOptions options)
    {
        Step = 0;
        ExpAvg.zero_();
        ExpAvgSq.zero_();
        PreviousNorm.zero_();
    }

    private static Tensor Move(Tensor t, Device device)
    {
        if (t.device == device)
        {
            return t;
        }
        var moved = t.to(device);
        t.Dispose();
        return moved;
    }
}
