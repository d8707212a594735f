using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>
/// Fused single-pass CPU kernels for <see cref="GwtAdam"/> over the raw float32 buffers, parallel over blocks.
/// </summary>
/// <remarks>
/// The GWT kernel needs no wavelet temporaries. With the orthonormal Haar transform and zero padding, an element
/// <c>i</c> of block <c>k</c> (the 2^l elements that approximation coefficient <c>k</c> covers) satisfies
/// <c>IDWT(A, 0)[i] = S_k / 2^l</c>, where <c>S_k</c> is the block's sum, and <c>IDWT(0, D)[i] = g[i] - S_k / 2^l</c>
/// (perfect reconstruction). Every detail coefficient inside block <c>k</c> is divided by the same <c>den_k</c>, so
/// <c>IDWT(Â, D̂)[i] = (g[i] - S_k / 2^l + m̂_k · 2^(-l/2)) / den_k</c>. One pass updates the moments from the block
/// sums, a second applies the update (one pass when the limiter is off, since its scale is then known up front).
/// </remarks>
internal static unsafe partial class FusedCpuKernels
{
    private const long ElementsPerTask = 1 << 16;

    public static bool Supports(Tensor p, Tensor g, GwtAdamState s) =>
        p.device_type == DeviceType.CPU && p.dtype == ScalarType.Float32 && g.dtype == ScalarType.Float32 &&
        g.device_type == DeviceType.CPU && p.is_contiguous() && g.is_contiguous() && s.ExpAvg.is_contiguous() &&
        s.ExpAvgSq.is_contiguous() && p.numel() < int.MaxValue / 4;

    public static void AdamWStep(Tensor param, Tensor grad, GwtAdamState s, GwtAdam.Hyper h)
    {
        float* p = Ptr(param), g = Ptr(grad), m = Ptr(s.ExpAvg), v = Ptr(s.ExpAvgSq);
        long n = param.numel();
        float b1 = (float)h.Beta1, b2 = (float)h.Beta2, c1 = (float)(1 - h.Beta1), c2 = (float)(1 - h.Beta2);
        float decay = (float)(1 - h.Lr * h.WeightDecay);
        float stepSize = (float)(h.Lr / (1 - Math.Pow(h.Beta1, s.Step)));
        float invSqrtBc2 = (float)(1 / Math.Sqrt(1 - Math.Pow(h.Beta2, s.Step)));
        float eps = (float)h.Eps;
        ForChunks(n, ElementsPerTask, (start, end) =>
        {
            long i = start;
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                var vb1 = new Vector<float>(b1); var vb2 = new Vector<float>(b2);
                var vc1 = new Vector<float>(c1); var vc2 = new Vector<float>(c2);
                var vdecay = new Vector<float>(decay); var vstep = new Vector<float>(stepSize);
                var vinv = new Vector<float>(invSqrtBc2); var veps = new Vector<float>(eps);
                for (; i + w <= end; i += w)
                {
                    var gi = Load(g + i);
                    var mi = vb1 * Load(m + i) + vc1 * gi;
                    var vi = vb2 * Load(v + i) + vc2 * gi * gi;
                    Store(m + i, mi);
                    Store(v + i, vi);
                    var den = Vector.SquareRoot(vi) * vinv + veps;
                    Store(p + i, Load(p + i) * vdecay - vstep * mi / den);
                }
            }
            for (; i < end; i++)
            {
                float gi = g[i];
                float mi = b1 * m[i] + c1 * gi;
                float vi = b2 * v[i] + c2 * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] = p[i] * decay - stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
            }
        });
    }

    public static void GwtStep(Tensor param, Tensor grad, GwtAdamState s, GwtAdam.Hyper h)
    {
        var k = GwtKernel(param, s, h, out long outer);
        k.P = Ptr(param);
        k.G = Ptr(grad);
        RunGwt(k, outer, s, h);
    }

    private static Kernel GwtKernel(Tensor param, GwtAdamState s, GwtAdam.Hyper h, out long outer)
    {
        var shape = param.shape;
        long n = shape[s.Axis];
        long inner = 1;
        outer = 1;
        for (int d = s.Axis + 1; d < shape.Length; d++)
        {
            inner *= shape[d];
        }
        for (int d = 0; d < s.Axis; d++)
        {
            outer *= shape[d];
        }
        return new Kernel
        {
            M = Ptr(s.ExpAvg), V = Ptr(s.ExpAvgSq), N = n, Inner = inner, Level = s.Level,
            Blocks = Wavelets.HaarWavelet.ApproximationLength(n, s.Level),
            B1 = (float)h.Beta1, B2 = (float)h.Beta2, C1 = (float)(1 - h.Beta1), C2 = (float)(1 - h.Beta2),
            InvBc1 = (float)(1 / (1 - Math.Pow(h.Beta1, s.Step))),
            InvSqrtBc2 = (float)(1 / Math.Sqrt(1 - Math.Pow(h.Beta2, s.Step))),
            Eps = (float)h.Eps,
            ApproxScale = (float)Math.Pow(2, -s.Level / 2.0),
            InvBlock = 1f / (1 << s.Level),
            Decay = (float)(1 - h.Lr * h.WeightDecay),
        };
    }

    private static void RunGwt(Kernel k, long outer, GwtAdamState s, GwtAdam.Hyper h)
    {
        long items = outer * k.Blocks; // one item = one block of one row, across `inner` columns
        long itemsPerTask = Math.Max(1, ElementsPerTask / ((1L << s.Level) * k.Inner));
        float coefficient = (float)(h.Lr * h.Alpha);
        if (!h.Limiter)
        {
            k.Coefficient = coefficient;
            ForChunks(items, itemsPerTask, (a, b) => k.Apply(a, b, updateMoments: true));
            return;
        }

        // Pass 1: moments and the norm of the normalized approximation (summed per chunk, in order, so it is deterministic).
        long chunks = (items + itemsPerTask - 1) / itemsPerTask;
        var partial = new double[chunks];
        ForChunks(items, itemsPerTask, (a, b) => partial[a / itemsPerTask] = k.UpdateMoments(a, b));
        double norm = Math.Sqrt(partial.Sum());
        double previous = s.PreviousNorm.item<double>();
        double scale = 1.0;
        if (s.Step > 1 && previous > 0 && norm > h.Growth * previous)
        {
            scale = h.Growth * previous / norm;
        }
        s.PreviousNorm.fill_(norm * scale);
        k.Coefficient = (float)(coefficient * scale);
        ForChunks(items, itemsPerTask, (a, b) => k.Apply(a, b, updateMoments: false));
    }

    private struct Kernel
    {
        public float* P, G, M, V;

        /// <summary>Bfloat16 mode (<see cref="GwtStepBFloat16"/>): the gradient is read from <see cref="G16"/> (times
        /// <see cref="GradScale"/>) and the updated float32 weights <see cref="P"/> are written to <see cref="P16"/>.</summary>
        public ushort* G16, P16;
        public float GradScale;
        public long N, Inner, Blocks;
        public int Level;
        public float B1, B2, C1, C2, InvBc1, InvSqrtBc2, Eps, ApproxScale, InvBlock, Decay, Coefficient;

        /// <summary>Updates the moments of items [start, end) and returns the squared norm of their normalized approximation.</summary>
        public readonly double UpdateMoments(long start, long end)
        {
            if (Inner == 1)
            {
                return Rows(start, end, RowMode.Moments);
            }
            double sumSq = 0;
            for (long item = start; item < end; item++)
            {
                long row = item / Blocks, blk = item % Blocks;
                long first = blk << Level, last = Math.Min(N, (blk + 1) << Level);
                for (long j = 0; j < Inner; j++)
                {
                    float sum = BlockSum(row, first, last, j);
                    long si = item * Inner + j;
                    float a = sum * ApproxScale;
                    float mi = B1 * M[si] + C1 * a;
                    float vi = B2 * V[si] + C2 * a * a;
                    M[si] = mi;
                    V[si] = vi;
                    float na = mi * InvBc1 / (MathF.Sqrt(vi) * InvSqrtBc2 + Eps);
                    sumSq += (double)na * na;
                }
            }
            return sumSq;
        }

        /// <summary>Applies the update to items [start, end), optionally updating the moments first.</summary>
        public readonly void Apply(long start, long end, bool updateMoments)
        {
            if (Inner == 1)
            {
                Rows(start, end, updateMoments ? RowMode.MomentsAndApply : RowMode.Apply);
                return;
            }
            for (long item = start; item < end; item++)
            {
                long row = item / Blocks, blk = item % Blocks;
                long first = blk << Level, last = Math.Min(N, (blk + 1) << Level);
                for (long j = 0; j < Inner; j++)
                {
                    float sum = BlockSum(row, first, last, j);
                    long si = item * Inner + j;
                    float mi = M[si], vi = V[si];
                    if (updateMoments)
                    {
                        float a = sum * ApproxScale;
                        mi = B1 * mi + C1 * a;
                        vi = B2 * vi + C2 * a * a;
                        M[si] = mi;
                        V[si] = vi;
                    }
                    float den = MathF.Sqrt(vi) * InvSqrtBc2 + Eps;
                    float shift = mi * InvBc1 * ApproxScale - sum * InvBlock; // m̂·2^(-l/2) - S/2^l
                    float c = Coefficient / den;
                    for (long i = first; i < last; i++)
                    {
                        long e = (row * N + i) * Inner + j;
                        P[e] = P[e] * Decay - c * (G[e] + shift);
                    }
                }
            }
        }

        private enum RowMode
        {
            Moments,
            Apply,
            MomentsAndApply,
        }

        private const int ChunkBlocks = 256;

        /// <summary>The contiguous case (the transform runs along rows): items [start, end) are consecutive blocks of
        /// consecutive rows. Per chunk of blocks: block sums, then moments and per-block coefficients 8 blocks at a time,
        /// then the element update with each block's coefficient expanded across its 2^l elements.</summary>
        private readonly double Rows(long start, long end, RowMode mode)
        {
            Span<float> sums = stackalloc float[ChunkBlocks];
            Span<float> coef = stackalloc float[ChunkBlocks + 8];
            Span<float> shift = stackalloc float[ChunkBlocks + 8];
            double sumSq = 0;
            // Bfloat16 mode: each chunk's gradient is widened into this buffer, so the kernel below reads float32.
            float[]? widened = G16 is null ? null : System.Buffers.ArrayPool<float>.Shared.Rent((int)Math.Min((long)ChunkBlocks << Level, N));
            try
            {
                fixed (float* buffer = widened)
                {
                    long item = start;
                    while (item < end)
                    {
                        long row = item / Blocks, first = item % Blocks;
                        int count = (int)Math.Min(Math.Min(ChunkBlocks, Blocks - first), end - item);
                        float* g = G + row * N;
                        float* p = P + row * N;
                        float* m = M + item;
                        float* v = V + item;
                        long lo = first << Level;
                        long hi = Math.Min(N, (first + count) << Level);
                        if (G16 is not null)
                        {
                            BFloat16.Widen(G16 + row * N + lo, buffer, (int)(hi - lo), GradScale);
                            g = buffer - lo;
                        }
                        BlockSums(g, first, count, sums);
                        sumSq += Coefficients(sums[..count], m, v, coef, shift, mode != RowMode.Apply, mode == RowMode.Moments);
                        if (mode != RowMode.Moments)
                        {
                            ApplyExpanded(p + lo, g + lo, (int)(hi - lo), coef, shift, Level, Decay);
                            if (P16 is not null)
                            {
                                BFloat16.Narrow(p + lo, P16 + row * N + lo, (int)(hi - lo));
                            }
                        }
                        item += count;
                    }
                }
            }
            finally
            {
                if (widened is not null)
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(widened);
                }
            }
            return sumSq;
        }

        /// <summary>Sums of blocks [first, first + count) of a row; only the row's last block can be partial (zero padding).
        /// Blocks of 2 and 4 are summed 8 at a time with horizontal adds and one permute.</summary>
        private readonly void BlockSums(float* g, long first, int count, Span<float> sums)
        {
            int block = 1 << Level;
            int j = 0;
            if (Avx2.IsSupported && block is 2 or 4)
            {
                // hadd works within 128-bit lanes; the permute puts the 8 block sums back in order.
                var order = block == 2 ? Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7) : Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
                long full = Math.Min(count, (N >> Level) - first); // blocks that lie wholly inside the row
                fixed (float* sp = sums)
                {
                    for (; j + 8 <= full; j += 8)
                    {
                        float* x = g + ((first + j) << Level);
                        Vector256<float> h;
                        if (block == 2)
                        {
                            h = Avx.HorizontalAdd(Avx.LoadVector256(x), Avx.LoadVector256(x + 8));
                        }
                        else
                        {
                            var h01 = Avx.HorizontalAdd(Avx.LoadVector256(x), Avx.LoadVector256(x + 8));
                            var h23 = Avx.HorizontalAdd(Avx.LoadVector256(x + 16), Avx.LoadVector256(x + 24));
                            h = Avx.HorizontalAdd(h01, h23);
                        }
                        Avx.Store(sp + j, Avx2.PermuteVar8x32(h, order));
                    }
                }
            }
            for (; j < count; j++)
            {
                long lo = (first + j) << Level;
                float* x = g + lo;
                int len = (int)Math.Min(block, N - lo);
                float s = 0;
                if (len == 8 && Vector256.IsHardwareAccelerated)
                {
                    s = Vector256.Sum(Vector256.Load(x));
                }
                else
                {
                    for (int i = 0; i < len; i++)
                    {
                        s += x[i];
                    }
                }
                sums[j] = s;
            }
        }

        /// <summary>Moments (optional) and, per block, coef = Coefficient/den and shift = m̂·2^(-l/2) - S/2^l; or, for
        /// the limiter's first pass, the squared norm of m̂/den.</summary>
        private readonly double Coefficients(ReadOnlySpan<float> sums, float* m, float* v, Span<float> coef, Span<float> shift,
            bool updateMoments, bool normOnly)
        {
            int j = 0, n = sums.Length;
            double sumSq = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(B1); var b2 = Vector256.Create(B2); var c1 = Vector256.Create(C1); var c2 = Vector256.Create(C2);
                var approx = Vector256.Create(ApproxScale); var invBc1 = Vector256.Create(InvBc1); var invSqrtBc2 = Vector256.Create(InvSqrtBc2);
                var eps = Vector256.Create(Eps); var coefficient = Vector256.Create(Coefficient); var invBlock = Vector256.Create(InvBlock);
                fixed (float* sp = sums)
                fixed (float* cp = coef)
                fixed (float* hp = shift)
                {
                    for (; j + 8 <= n; j += 8)
                    {
                        var s = Vector256.Load(sp + j);
                        var mi = Vector256.Load(m + j);
                        var vi = Vector256.Load(v + j);
                        if (updateMoments)
                        {
                            var a = s * approx;
                            mi = b1 * mi + c1 * a;
                            vi = b2 * vi + c2 * a * a;
                            mi.Store(m + j);
                            vi.Store(v + j);
                        }
                        var den = Vector256.Sqrt(vi) * invSqrtBc2 + eps;
                        var mhat = mi * invBc1;
                        if (normOnly)
                        {
                            var na = mhat / den;
                            sumSq += Vector256.Sum(Vector256.WidenLower(na) * Vector256.WidenLower(na) + Vector256.WidenUpper(na) * Vector256.WidenUpper(na));
                        }
                        else
                        {
                            (coefficient / den).Store(cp + j);
                            (mhat * approx - s * invBlock).Store(hp + j);
                        }
                    }
                }
            }
            for (; j < n; j++)
            {
                float mi = m[j], vi = v[j];
                if (updateMoments)
                {
                    float a = sums[j] * ApproxScale;
                    mi = B1 * mi + C1 * a;
                    vi = B2 * vi + C2 * a * a;
                    m[j] = mi;
                    v[j] = vi;
                }
                float den = MathF.Sqrt(vi) * InvSqrtBc2 + Eps;
                float mhat = mi * InvBc1;
                if (normOnly)
                {
                    double na = mhat / den;
                    sumSq += na * na;
                }
                else
                {
                    coef[j] = Coefficient / den;
                    shift[j] = mhat * ApproxScale - sums[j] * InvBlock;
                }
            }
            return sumSq;
        }

        /// <summary>p[i] = p[i]·decay - coef[k]·(g[i] + shift[k]) for k = i >> level, over <paramref name="count"/> elements.</summary>
        private static void ApplyExpanded(float* p, float* g, int count, Span<float> coef, Span<float> shift, int level, float decay)
        {
            int i = 0;
            fixed (float* cp = coef)
            fixed (float* hp = shift)
            {
                if (Vector256.IsHardwareAccelerated && level <= 3)
                {
                    var vd = Vector256.Create(decay);
                    // Element e of an 8-wide vector starting at element i (a multiple of 8) belongs to block (i >> level) + (e >> level).
                    var idx = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) >> level;
                    for (; i + 8 <= count; i += 8)
                    {
                        int k = i >> level;
                        var c = Vector256.Shuffle(Vector256.Load(cp + k), idx);
                        var h = Vector256.Shuffle(Vector256.Load(hp + k), idx);
                        (Vector256.Load(p + i) * vd - c * (Vector256.Load(g + i) + h)).Store(p + i);
                    }
                }
                else if (Vector256.IsHardwareAccelerated)
                {
                    var vd = Vector256.Create(decay);
                    int block = 1 << level;
                    for (; i + block <= count; i += block)
                    {
                        var c = Vector256.Create(cp[i >> level]);
                        var h = Vector256.Create(hp[i >> level]);
                        for (int e = 0; e < block; e += 8)
                        {
                            (Vector256.Load(p + i + e) * vd - c * (Vector256.Load(g + i + e) + h)).Store(p + i + e);
                        }
                    }
                }
                for (; i < count; i++)
                {
                    int k = i >> level;
                    p[i] = p[i] * decay - cp[k] * (g[i] + hp[k]);
                }
            }
        }

        /// <summary>Sum of one block of column <paramref name="j"/> when the transform runs along a strided axis.</summary>
        private readonly float BlockSum(long row, long first, long last, long j)
        {
            float sum = 0;
            for (long i = first; i < last; i++)
            {
                sum += G[(row * N + i) * Inner + j];
            }
            return sum;
        }
    }

    private static float* Ptr(Tensor t)
    {
        fixed (byte* b = t.bytes)
        {
            return (float*)b; // native memory owned by the tensor: it does not move
        }
    }

    private static Vector<float> Load(float* at) => System.Runtime.CompilerServices.Unsafe.ReadUnaligned<Vector<float>>(at);

    private static void Store(float* at, Vector<float> value) => System.Runtime.CompilerServices.Unsafe.WriteUnaligned(at, value);

    private static void ForChunks(long count, long chunk, Action<long, long> body)
    {
        long chunks = (count + chunk - 1) / chunk;
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0L, chunks, c => body(c * chunk, Math.Min(count, (c + 1) * chunk)));
    }
}
