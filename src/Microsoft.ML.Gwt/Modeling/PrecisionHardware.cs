using System.Runtime.InteropServices;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>What <see cref="PrecisionHardware.Resolve"/> chose: the compute type, and a warning to give once when the
/// choice is not what the user may expect (null when there is nothing to say).</summary>
internal readonly record struct PrecisionChoice(ScalarType ComputeType, string? Warning);

/// <summary>
/// The one mapping from a <see cref="GwtPrecision"/> to a compute type, for training and scoring alike, on the machine
/// that runs it. Bfloat16 is fast on a CPU whose flags include <c>avx512_bf16</c> or <c>amx_bf16</c> (read once from
/// <c>/proc/cpuinfo</c>) and on a CUDA device of compute capability 8.0 or higher (read from the CUDA runtime).
/// </summary>
/// <remarks>
/// Tests call <see cref="SimulateCpu"/> to run the rules of either kind of CPU on any machine; the simulation holds for
/// the calling async flow only (an <see cref="AsyncLocal{T}"/>), so concurrent tests and fits do not see it.
/// </remarks>
internal static class PrecisionHardware
{
    /// <summary>The measured gain that training in bfloat16 gives where it is fast (README, Mixed precision).</summary>
    internal const string MeasuredGain =
        "BERT-base trained 2.3-2.7x faster in bfloat16 than in float32 on 2 cores of an AMD EPYC (Zen 5), but only 1.06-1.09x on 2 cores " +
        "of an Intel Xeon without AMX (README, Mixed precision; bench/MixedPrecision measures this machine)";

    private static readonly Lazy<string> CpuFlagsOnce = new(ReadCpuFlags);
    private static readonly Lazy<int?> CudaCapabilityOnce = new(CudaComputeCapabilityMajor);
    private static readonly AsyncLocal<string?> SimulatedCpuFlags = new();

    /// <summary>Until disposed, this async flow sees a CPU with (<paramref name="fastBFloat16"/>) or without bfloat16
    /// instructions, whatever the machine has.</summary>
    internal static IDisposable SimulateCpu(bool fastBFloat16)
    {
        var previous = SimulatedCpuFlags.Value;
        SimulatedCpuFlags.Value = fastBFloat16 ? "fpu sse avx2 avx512f avx512_bf16" : "fpu sse avx2 fma";
        return new Restore(() => SimulatedCpuFlags.Value = previous);
    }

    /// <summary>The CPU's flags (simulated ones under <see cref="SimulateCpu"/>).</summary>
    internal static string CpuFlags => SimulatedCpuFlags.Value ?? CpuFlagsOnce.Value;

    /// <summary>Whether <paramref name="device"/> computes bfloat16 fast: CUDA of capability 8.0 or higher, or a CPU
    /// with <c>avx512_bf16</c> or <c>amx_bf16</c>.</summary>
    public static bool FastBFloat16(Device device) => device.type == DeviceType.CUDA
        ? IsFast(cuda: true, CudaCapabilityOnce.Value, "")
        : IsFast(cuda: false, null, CpuFlags);

    /// <summary>The rule: CUDA of compute capability 8.0 or higher (Ampere and later; not when it cannot be read), or a
    /// CPU whose <c>/proc/cpuinfo</c> flags include <c>avx512_bf16</c> or <c>amx_bf16</c>.</summary>
    internal static bool IsFast(bool cuda, int? capabilityMajor, string cpuFlags)
    {
        if (cuda)
        {
            return capabilityMajor >= 8;
        }
        var flags = cpuFlags.Split(new[] { ' ', '\t', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
    }

    /// <summary>
    /// The compute type for <paramref name="precision"/> on <paramref name="device"/>: Float32 → float32; Auto → bfloat16
    /// where it is fast, else float32; BFloat16 → bfloat16 (with a warning where it is slow); Float16 → float16 on CUDA,
    /// float32 with a warning elsewhere (training refuses that case first: <see cref="ThrowIfUntrainable"/>).
    /// </summary>
    public static PrecisionChoice Resolve(GwtPrecision precision, Device device)
    {
        bool cuda = device.type == DeviceType.CUDA;
        return precision switch
        {
            GwtPrecision.Float32 => new(ScalarType.Float32, null),
            GwtPrecision.BFloat16 when FastBFloat16(device) => new(ScalarType.BFloat16, null),
            GwtPrecision.BFloat16 => new(ScalarType.BFloat16,
                $"Precision BFloat16 on {(cuda ? "a CUDA device below compute capability 8.0" : "a CPU without bfloat16 instructions (avx512_bf16, amx_bf16)")}: " +
                "libtorch emulates bfloat16 there, measured 50x slower than float32 (README, Mixed precision). Use Float32, or Auto to pick bfloat16 only where it is fast."),
            GwtPrecision.Float16 when cuda => new(ScalarType.Float16, null),
            GwtPrecision.Float16 => new(ScalarType.Float32,
                "Precision Float16 needs a CUDA device (libtorch's CPU float16 kernels are slower than float32): computing in float32 on the CPU."),
            GwtPrecision.Auto => new(FastBFloat16(device) ? ScalarType.BFloat16 : ScalarType.Float32, null),
            _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Precision must be Auto, Float32, BFloat16 or Float16."),
        };
    }

    /// <summary>Training refuses <see cref="GwtPrecision.Float16"/> off CUDA rather than train in another precision than asked.</summary>
    /// <exception cref="ArgumentException">Float16 on the CPU; the message names <paramref name="optionName"/>.</exception>
    public static void ThrowIfUntrainable(GwtPrecision precision, Device device, string optionName)
    {
        if (precision == GwtPrecision.Float16 && device.type != DeviceType.CUDA)
        {
            throw new ArgumentException(
                $"{optionName} = Float16 needs a CUDA device: float16 with loss scaling is for GPUs, and libtorch's CPU float16 " +
                "kernels are slower than float32. Use BFloat16 (or Auto) on the CPU.", optionName);
        }
    }

    /// <summary>What a float32 training run says once where bfloat16 would be fast (null elsewhere).</summary>
    public static string? Float32Notice(ScalarType computeType, Device device) =>
        computeType == ScalarType.Float32 && FastBFloat16(device)
            ? $"This {(device.type == DeviceType.CUDA ? "CUDA device has bfloat16 tensor cores (compute capability 8.0 or higher)" : "CPU has bfloat16 instructions (avx512_bf16 or amx_bf16)")}: " +
              $"{MeasuredGain}. This run computes in float32, as asked; set Precision = BFloat16 or Auto to train in bfloat16."
            : null;

    /// <summary>The <c>flags</c> line of <c>/proc/cpuinfo</c> (empty where there is none, such as on Windows or macOS).</summary>
    private static string ReadCpuFlags()
    {
        try
        {
            const string path = "/proc/cpuinfo";
            if (!File.Exists(path))
            {
                return "";
            }
            var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? "" : line[(line.IndexOf(':') + 1)..];
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>The major compute capability of CUDA device 0 from the CUDA runtime that TorchSharp's CUDA package
    /// ships, or null when it cannot be read.</summary>
    private static unsafe int? CudaComputeCapabilityMajor()
    {
        foreach (var name in new[] { "libcudart.so.12", "libcudart.so.11.0", "libcudart.so", "cudart64_12.dll", "cudart64_110.dll" })
        {
            if (!NativeLibrary.TryLoad(name, typeof(PrecisionHardware).Assembly, null, out var library))
            {
                continue;
            }
            if (!NativeLibrary.TryGetExport(library, "cudaDeviceGetAttribute", out var export))
            {
                continue;
            }
            const int computeCapabilityMajor = 75; // cudaDevAttrComputeCapabilityMajor
            int value = 0;
            var getAttribute = (delegate* unmanaged<int*, int, int, int>)export;
            return getAttribute(&value, computeCapabilityMajor, 0) == 0 ? value : null;
        }
        return null;
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
