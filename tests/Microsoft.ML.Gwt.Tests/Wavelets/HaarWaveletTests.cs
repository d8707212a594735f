using Microsoft.ML.Gwt.Tests.Optim;
using Microsoft.ML.Gwt.Wavelets;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Wavelets;

[TestClass]
public sealed class HaarWaveletTests
{
    private static readonly double R = Math.Sqrt(2);

    [TestMethod]
    public void ForwardMatchesHandComputedCoefficientsWithOddLengths()
    {
        using var x = tensor(new double[] { 1, 2, 3, 4, 5 });
        using var one = HaarWavelet.Forward(x, 1);
        AssertClose(new[] { 3 / R, 7 / R, 5 / R }, one.Approximation);
        AssertClose(new[] { -1 / R, -1 / R, 5 / R }, one.Details[0]);

        // Level 2: a1 = [3, 7, 5]/sqrt2 padded with 0 -> a2 = [(3+7)/2, 5/2], d2 = [(3-7)/2, 5/2].
        using var two = HaarWavelet.Forward(x, 2);
        AssertClose(new[] { 5.0, 2.5 }, two.Approximation);
        AssertClose(new[] { -2.0, 2.5 }, two.Details[0]);
        AssertClose(new[] { -1 / R, -1 / R, 5 / R }, two.Details[1]);
    }

    [TestMethod]
    public void ForwardMatchesScalarReferenceAlongEveryAxis()
    {
        manual_seed(3);
        using var x = randn(new long[] { 3, 11, 6 }, ScalarType.Float64);
        for (int axis = 0; axis < 3; axis++)
        {
            for (int level = 1; (1 << level) <= x.shape[axis]; level++)
            {
                using var c = HaarWavelet.Forward(x, level, axis);
                using var moved = x.transpose(axis, -1).contiguous();
                var rows = moved.reshape(new long[] { -1, x.shape[axis] });
                using var ca = c.Approximation.transpose(axis, -1).contiguous();
                var a = ca.reshape(new long[] { rows.shape[0], -1 });
                for (int r = 0; r < rows.shape[0]; r++)
                {
                    var (ra, rd) = ReferenceGwtAdam.Dwt(rows[r].data<double>().ToArray(), level);
                    AssertClose(ra, a[r]);
                    for (int j = 0; j < level; j++)
                    {
                        using var cd = c.Details[j].transpose(axis, -1).contiguous();
                        AssertClose(rd[j], cd.reshape(new long[] { rows.shape[0], -1 })[r]);
                    }
                }
            }
        }
    }

    [TestMethod]
    public void InverseReconstructsPerfectly()
    {
        manual_seed(4);
        foreach (var shape in new[] { new long[] { 7 }, new long[] { 4, 13 }, new long[] { 3, 9, 5 }, new long[] { 2, 16 } })
        {
            using var x = randn(shape, ScalarType.Float32);
            for (int axis = 0; axis < shape.Length; axis++)
            {
                for (int level = 1; (1 << level) <= shape[axis]; level++)
                {
                    using var c = HaarWavelet.Forward(x, level, axis);
                    using var y = HaarWavelet.Inverse(c);
                    CollectionAssert.AreEqual(shape, y.shape);
                    Assert.IsTrue(x.allclose(y, rtol: 0, atol: 1e-5), $"shape [{string.Join(",", shape)}] axis {axis} level {level}");
                }
            }
        }
    }

    [TestMethod]
    public void LevelTooHighForDimensionIsArgumentError()
    {
        using var x = zeros(4, 3);
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => HaarWavelet.Forward(x, 2, axis: 1));
        StringAssert.Contains(ex.Message, "at least 4");
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var got = actual.to(ScalarType.Float64).data<double>().ToArray();
        Assert.HasCount(expected.Length, got);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], got[i], 1e-6, $"index {i}");
        }
    }
}
