using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// The fused kernels for bfloat16 parameters with float32 master weights: one pass reads the bfloat16 gradient into
/// float32 (times the gradient scale), updates the moments and the master weights, and writes the master weights back
/// to the bfloat16 parameter rounded to nearest even, as libtorch's own conversion does.
/// </summary>
internal static unsafe partial class FusedCpuKernels
{
    /// <summary>Whether a bfloat16 parameter with master weights can take the fused kernels: CPU, contiguous, and for a
    /// GWT parameter the transform along the last axis (the contiguous case).</summary>
    public static bool SupportsBFloat16(Tensor p, Tensor g, GwtAdamState s) =>
        s.Master is not null && p.device_type == DeviceType.CPU && g.device_type == DeviceType.CPU &&
        p.dtype == ScalarType.BFloat16 && g.dtype == ScalarType.BFloat16 && p.is_contiguous() && g.is_contiguous() &&
        s.Master.is_contiguous() && s.ExpAvg.is_contiguous() && s.ExpAvgSq.is_contiguous() && p.numel() < int.MaxValue / 4 &&
        (!s.Compressed || s.Axis == p.dim() - 1);

    /// <summary>AdamW on master weights from a bfloat16 gradient, writing the bfloat16 parameter in the same pass.</summary>
    public static void AdamWStepBFloat16(Tensor param, Tensor grad, GwtAdamState s, GwtAdam.Hyper h, float gradScale)
    {
        ushort* p16 = (ushort*)BytePtr(param), g16 = (ushort*)BytePtr(grad);
        float* w = Ptr(s.Master!), m = Ptr(s.ExpAvg), v = Ptr(s.ExpAvgSq);
        long n = param.numel();
        float b1 = (float)h.Beta1, b2 = (float)h.Beta2, c1 = (float)(1 - h.Beta1), c2 = (float)(1 - h.Beta2);
        float decay = (float)(1 - h.Lr * h.WeightDecay);
        float stepSize = (float)(h.Lr / (1 - Math.Pow(h.Beta1, s.Step)));
        float invSqrtBc2 = (float)(1 / Math.Sqrt(1 - Math.Pow(h.Beta2, s.Step)));
        float eps = (float)h.Eps;
        ForChunks(n, ElementsPerTask, (start, end) =>
        {
            long i = start;
            if (Vector256.IsHardwareAccelerated)
            {
                var vb1 = Vector256.Create(b1); var vb2 = Vector256.Create(b2);
                var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
                var vdecay = Vector256.Create(decay); var vstep = Vector256.Create(stepSize);
                var vinv = Vector256.Create(invSqrtBc2); var veps = Vector256.Create(eps); var vscale = Vector256.Create(gradScale);
                for (; i + 8 <= end; i += 8)
                {
                    var gi = BFloat16.Widen8(g16 + i) * vscale;
                    var mi = vb1 * Vector256.Load(m + i) + vc1 * gi;
                    var vi = vb2 * Vector256.Load(v + i) + vc2 * gi * gi;
                    mi.Store(m + i);
                    vi.Store(v + i);
                    var den = Vector256.Sqrt(vi) * vinv + veps;
                    var wi = Vector256.Load(w + i) * vdecay - vstep * mi / den;
                    wi.Store(w + i);
                    BFloat16.Narrow8(wi, p16 + i);
                }
            }
            for (; i < end; i++)
            {
                float gi = BFloat16.ToSingle(g16[i]) * gradScale;
                float mi = b1 * m[i] + c1 * gi;
                float vi = b2 * v[i] + c2 * gi * gi;
                m[i] = mi;
                v[i] = vi;
                float wi = w[i] * decay - stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
                w[i] = wi;
                p16[i] = BFloat16.FromSingle(wi);
            }
        });
    }

    /// <summary>The GWT rule on master weights from a bfloat16 gradient (transform along the last axis), writing the
    /// bfloat16 parameter chunk by chunk in the same pass.</summary>
    public static void GwtStepBFloat16(Tensor param, Tensor grad, GwtAdamState s, GwtAdam.Hyper h, float gradScale)
    {
        var k = GwtKernel(param, s, h, out long outer);
        k.P = Ptr(s.Master!);
        k.G16 = (ushort*)BytePtr(grad);
        k.P16 = (ushort*)BytePtr(param);
        k.GradScale = gradScale;
        RunGwt(k, outer, s, h);
    }

    private static byte* BytePtr(Tensor t)
    {
        fixed (byte* b = t.bytes)
        {
            return b; // native memory owned by the tensor: it does not move
        }
    }
}

/// <summary>Bfloat16 ⇄ float32 conversion with libtorch's rounding (to nearest even; NaN stays NaN).</summary>
internal static unsafe class BFloat16
{
    /// <summary>The float32 value of a bfloat16 bit pattern (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The bfloat16 nearest to <paramref name="value"/> (ties to even), as <c>c10::BFloat16</c> rounds.</summary>
    public static ushort FromSingle(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Eight bfloat16 values widened to float32.</summary>
    public static Vector256<float> Widen8(ushort* source)
    {
        var packed = Vector128.Load(source);
        var (lower, upper) = Vector128.Widen(packed);
        return (Vector256.Create(lower, upper) << 16).AsSingle();
    }

    /// <summary>Eight float32 values rounded to bfloat16.</summary>
    public static void Narrow8(Vector256<float> values, ushort* destination)
    {
        var bits = values.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var nan = ~Vector256.Equals(values, values).AsUInt32();
        rounded = Vector256.ConditionalSelect(nan, Vector256.Create(0x7FC0u), rounded);
        Vector128.Narrow(rounded.GetLower(), rounded.GetUpper()).Store(destination);
    }

    /// <summary><paramref name="count"/> bfloat16 values widened to float32 and multiplied by <paramref name="scale"/>.</summary>
    public static void Widen(ushort* source, float* destination, int count, float scale)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            for (; i + 8 <= count; i += 8)
            {
                (Widen8(source + i) * s).Store(destination + i);
            }
        }
        for (; i < count; i++)
        {
            destination[i] = ToSingle(source[i]) * scale;
        }
    }

    /// <summary><paramref name="count"/> float32 values rounded to bfloat16.</summary>
    public static void Narrow(float* source, ushort* destination, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                Narrow8(Vector256.Load(source + i), destination + i);
            }
        }
        for (; i < count; i++)
        {
            destination[i] = FromSingle(source[i]);
        }
    }
}
