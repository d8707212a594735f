using TorchSharp;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Wavelets;

/// <summary>
/// Coefficients of an <c>l</c>-level Haar transform along one axis: the approximation and the detail bands.
/// </summary>
/// <remarks>The caller owns (and disposes) the tensors.</remarks>
public sealed class HaarCoefficients : IDisposable
{
    internal HaarCoefficients(Tensor approximation, IReadOnlyList<Tensor> details, long length, int axis)
    {
        Approximation = approximation;
        Details = details;
        Length = length;
        Axis = axis;
    }

    /// <summary>The approximation coefficients, <c>ceil(n / 2^l)</c> long along the axis.</summary>
    public Tensor Approximation { get; }

    /// <summary>Detail bands, coarsest first (<c>D_l</c>, same length as the approximation) down to the finest
    /// (<c>D_1</c>, <c>ceil(n / 2)</c> long), the order of <c>pywt.wavedec</c>.</summary>
    public IReadOnlyList<Tensor> Details { get; }

    /// <summary>The length of the transformed axis before padding; the inverse crops back to it.</summary>
    public long Length { get; }

    /// <summary>The (non-negative) axis that was transformed.</summary>
    public int Axis { get; }

    /// <summary>Number of levels.</summary>
    public int Levels => Details.Count;

    /// <inheritdoc />
    public void Dispose()
    {
        Approximation.Dispose();
        foreach (var d in Details)
        {
            d.Dispose();
        }
    }
}

/// <summary>
/// The orthonormal Haar discrete wavelet transform of tensors along one axis, multi-level, with the "zero"
/// boundary mode: an odd length at any level is padded with one zero, and the inverse crops back.
/// <c>a[k] = (x[2k] + x[2k+1]) / sqrt 2</c>, <c>d[k] = (x[2k] - x[2k+1]) / sqrt 2</c> (as <c>pywt.dwt(x, "haar", "zero")</c>).
/// </summary>
public static class HaarWavelet
{
    /// <summary>1/√2 as a process-lifetime Scalar (a temporary one may be freed while libtorch reads it; see
    /// <see cref="HeldScalars"/>).</summary>
    private static readonly Scalar InvSqrt2 = (1.0 / Math.Sqrt(2.0)).ToScalar();

    /// <summary>The length of the approximation (and the coarsest detail band) after <paramref name="levels"/> levels.</summary>
    public static long ApproximationLength(long length, int levels)
    {
        for (int i = 0; i < levels; i++)
        {
            length = (length + 1) / 2;
        }
        return length;
    }

    /// <summary>Checks that a dimension can be transformed <paramref name="levels"/> times (it needs at least 2^l elements).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The level is negative or the dimension is shorter than 2^l.</exception>
    public static void ValidateLevels(long length, int levels, string paramName)
    {
        if (levels < 0 || levels > 30)
        {
            throw new ArgumentOutOfRangeException(paramName, levels, "The wavelet level must be between 0 and 30.");
        }
        if (length < (1L << levels))
        {
            throw new ArgumentOutOfRangeException(paramName, levels,
                $"A {levels}-level transform needs a dimension of at least {1L << levels}, but the transformed dimension has {length}.");
        }
    }

    /// <summary>Multi-level forward transform of <paramref name="x"/> along <paramref name="axis"/>.</summary>
    public static HaarCoefficients Forward(Tensor x, int levels, int axis = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = NormalizeAxis(axis, (int)x.dim());
        long n = x.shape[ax];
        ValidateLevels(n, levels, nameof(levels));
        var details = new Tensor[levels];
        Tensor current = x.alias();
        for (int level = 0; level < levels; level++)
        {
            using var padded = PadToEven(current, ax);
            long half = padded.shape[ax] / 2;
            using var even = padded.slice(ax, 0, 2 * half, 2);
            using var odd = padded.slice(ax, 1, 2 * half, 2);
            var approx = even.Plus(odd).mul_(InvSqrt2);
            details[levels - 1 - level] = even.Minus(odd).mul_(InvSqrt2);
            current.Dispose();
            current = approx;
        }
        return new HaarCoefficients(current, details, n, ax);
    }

    /// <summary>Inverse of <see cref="Forward"/>: rebuilds the signal from an approximation and detail bands (coarsest
    /// first) and crops it to <paramref name="length"/> along <paramref name="axis"/>.</summary>
    public static Tensor Inverse(Tensor approximation, IReadOnlyList<Tensor> details, long length, int axis = -1)
    {
        ArgumentNullException.ThrowIfNull(approximation);
        ArgumentNullException.ThrowIfNull(details);
        int ax = NormalizeAxis(axis, (int)approximation.dim());
        int levels = details.Count;
        Tensor current = approximation.alias();
        for (int i = 0; i < levels; i++)
        {
            var detail = details[i];
            long len = detail.shape[ax];
            using var a = current.shape[ax] == len ? current.alias() : current.narrow(ax, 0, len);
            using var even = a.Plus(detail).mul_(InvSqrt2);
            using var odd = a.Minus(detail).mul_(InvSqrt2);
            // Interleave even and odd samples along the axis.
            using var stacked = torch.stack(new[] { even, odd }, ax + 1);
            var shape = (long[])even.shape.Clone();
            shape[ax] = 2 * len;
            var next = stacked.reshape(shape);
            current.Dispose();
            current = next;
            // The next (finer) band tells how long this level's output really was.
            long target = i + 1 < levels ? details[i + 1].shape[ax] : length;
            if (current.shape[ax] != target)
            {
                var cropped = current.narrow(ax, 0, target);
                current.Dispose();
                current = cropped;
            }
        }
        return current;
    }

    /// <summary>Inverse of <see cref="Forward"/>.</summary>
    public static Tensor Inverse(HaarCoefficients coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        return Inverse(coefficients.Approximation, coefficients.Details, coefficients.Length, coefficients.Axis);
    }

    internal static int NormalizeAxis(int axis, int rank)
    {
        int ax = axis < 0 ? axis + rank : axis;
        if (ax < 0 || ax >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"Axis must be in [-{rank}, {rank - 1}] for a {rank}-D tensor.");
        }
        return ax;
    }

    private static Tensor PadToEven(Tensor x, int axis)
    {
        if (x.shape[axis] % 2 == 0)
        {
            return x.alias();
        }
        var shape = (long[])x.shape.Clone();
        shape[axis] = 1;
        using var zero = torch.zeros(shape, x.dtype, x.device);
        return torch.cat(new[] { x, zero }, axis);
    }
}
