using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// The state <see cref="GwtAdam"/> keeps for one parameter: the step count and Adam's two moments, which for a
/// GWT-compressed parameter cover only the wavelet approximation (1/2^l of the parameter along the transformed axis),
/// plus the norm the growth limiter compares against, and, for a low-precision parameter with
/// <see cref="GwtAdamOptions.MasterWeights"/>, its float32 master weights.
/// </summary>
public sealed class GwtAdamState : OptimizerState, IDisposable
{
    /// <summary>Marks a saved state with master weights in the saved level field (levels are at most 30).</summary>
    private const int MasterFlag = 1 << 16;

    internal GwtAdamState(Parameter parameter, bool compressed, int level, int axis, bool masterWeights = false)
        : base(parameter)
    {
        Compressed = compressed;
        Elements = parameter.numel();
        Level = compressed ? level : 0;
        Axis = axis;
        var shape = (long[])parameter.shape.Clone();
        if (compressed)
        {
            shape[axis] = Wavelets.HaarWavelet.ApproximationLength(shape[axis], level);
        }
        if (masterWeights && IsLowPrecision(parameter.dtype))
        {
            using var noGrad = torch.no_grad();
            using var detached = parameter.detach();
            Master = torch.empty(parameter.shape, ScalarType.Float32, parameter.device);
            Master.copy_(detached);
        }
        var momentType = Master is null ? parameter.dtype : ScalarType.Float32;
        ExpAvg = torch.zeros(shape, momentType, parameter.device);
        ExpAvgSq = torch.zeros(shape, momentType, parameter.device);
        PreviousNorm = torch.zeros(Array.Empty<long>(), ScalarType.Float64, parameter.device);
    }

    /// <summary>Steps taken for this parameter.</summary>
    public long Step { get; internal set; }

    /// <summary>The number of elements of the parameter.</summary>
    public long Elements { get; }

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

    /// <summary>The float32 master weights of a low-precision parameter (null for a float32 parameter, or without
    /// <see cref="GwtAdamOptions.MasterWeights"/>). The optimizer updates these and writes them back to the parameter,
    /// rounded to its type, after each step.</summary>
    public Tensor? Master { get; private set; }

    /// <summary>Bytes held by the master weights (0 without them).</summary>
    public long MasterBytes => Master is null ? 0 : Master.numel() * Master.ElementSize;

    /// <summary>Whether <paramref name="dtype"/> is a type master weights are kept for: bfloat16 or float16.</summary>
    internal static bool IsLowPrecision(ScalarType dtype) => dtype is ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary>Writes the master weights into the parameter, rounded to its type (no-op without master weights).</summary>
    internal void WriteBack()
    {
        if (Master is not null)
        {
            using var noGrad = torch.no_grad();
            _parameter.copy_(Master);
        }
    }

    /// <summary>Bytes held by the two moments.</summary>
    public long MomentBytes => (ExpAvg.numel() + ExpAvgSq.numel()) * ExpAvg.ElementSize;

    /// <inheritdoc />
    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
        PreviousNorm.Dispose();
        Master?.Dispose();
    }

    /// <inheritdoc />
    public override void to(Device device)
    {
        ExpAvg = DeviceTensors.MoveTo(ExpAvg, device);
        ExpAvgSq = DeviceTensors.MoveTo(ExpAvgSq, device);
        PreviousNorm = DeviceTensors.MoveTo(PreviousNorm, device);
        if (Master is not null)
        {
            Master = DeviceTensors.MoveTo(Master, device);
        }
    }

    /// <inheritdoc />
    public override void SaveStateDict(BinaryWriter writer)
    {
        writer.Write(Step);
        writer.Write(Compressed);
        writer.Write(Master is null ? Level : Level | MasterFlag);
        writer.Write(Axis);
        ExpAvg.Save(writer);
        ExpAvgSq.Save(writer);
        PreviousNorm.Save(writer);
        Master?.Save(writer);
    }

    /// <inheritdoc />
    public override void LoadStateDict(BinaryReader reader)
    {
        long step = reader.ReadInt64();
        bool compressed = reader.ReadBoolean();
        int levelField = reader.ReadInt32();
        int axis = reader.ReadInt32();
        int level = levelField & ~MasterFlag;
        bool master = (levelField & MasterFlag) != 0;
        if (compressed != Compressed || level != Level || axis != Axis || master != (Master is not null))
        {
            throw new InvalidDataException(
                $"Optimizer state was saved with compressed={compressed}, level={level}, axis={axis}, master weights={master}, but this optimizer has " +
                $"compressed={Compressed}, level={Level}, axis={Axis}, master weights={Master is not null} for the parameter of shape [{string.Join(", ", _parameter.shape)}].");
        }
        Step = step;
        ExpAvg.Load(reader);
        ExpAvgSq.Load(reader);
        PreviousNorm.Load(reader);
        if (Master is not null)
        {
            Master.Load(reader);
            WriteBack();
        }
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
            if (Master is not null && s.Master is not null)
            {
                Master.copy_(s.Master);
            }
        }
        if (Master is not null && s.Master is not null)
        {
            WriteBack();
        }
    }

    /// <inheritdoc />
    public override bool ApproximatelyEquals(OptimizerState other) =>
        other is GwtAdamState s && s.Step == Step && s.Compressed == Compressed && s.Level == Level &&
        ExpAvg.allclose(s.ExpAvg) && ExpAvgSq.allclose(s.ExpAvgSq) && PreviousNorm.allclose(s.PreviousNorm) &&
        (Master is null) == (s.Master is null) && (Master is null || Master.allclose(s.Master!));

    /// <inheritdoc />
    public override void Initialize(OptimizerOptions options)
    {
        Step = 0;
        ExpAvg.zero_();
        ExpAvgSq.zero_();
        PreviousNorm.zero_();
    }
}
