using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// Tensor arithmetic whose <see cref="Scalar"/> operands live as long as libtorch uses them. TorchSharp turns numbers into
/// temporary Scalars (<c>a + b</c> is <c>a.add(b, 1)</c>, <c>t * 0.5</c>, <c>arange(n)</c>) and passes only their handles:
/// nothing references the temporary during the native call, so the garbage collector may finalize it (and free the
/// native Scalar) while libtorch still reads it, which aborts with "Unknown scalar type" or a failed <c>toFloat</c> check
/// (dotnet/TorchSharp#1496). The encoders' forward passes use these instead; a test scores many batches while another
/// thread forces collections (<c>ScalarLifetimeTests</c>).
/// </summary>
internal static class HeldScalars
{
    /// <summary>The alpha of every addition: one Scalar for the whole process, never collected.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a += b</c>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>Zero, for comparisons.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>The label value that losses ignore: -100, Hugging Face's and PyTorch's <c>ignore_index</c> (masked
    /// language modelling's unmasked positions, token classification's later sub-words, ...). Spelled once, in the core
    /// (<see cref="Microsoft.ML.Gwt.Core.Scoring.WordAlignment.Ignore"/>), where token classifiers align their words.</summary>
    public const long IgnoredLabel = Microsoft.ML.Gwt.Core.Scoring.WordAlignment.Ignore;

    /// <summary><see cref="IgnoredLabel"/> as a Scalar, for comparisons.</summary>
    public static readonly Scalar IgnoreIndex = IgnoredLabel.ToScalar();

    /// <summary>The alpha of a subtraction (libtorch's <c>sub</c> is <c>add</c> with alpha -1, exactly).</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    /// <summary><c>a - b</c>.</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.add(b, MinusOne);

    /// <summary><c>torch.arange(stop)</c> as int64 on <paramref name="device"/>.</summary>
    public static Tensor Arange(long stop, Device? device = null)
    {
        using var start = 0L.ToScalar();
        using var end = stop.ToScalar();
        using var step = 1L.ToScalar();
        return torch.arange(start, end, step, ScalarType.Int64, device);
    }
}
