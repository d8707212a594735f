using System.Runtime.InteropServices;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// Resolves a <see cref="GwtPrecision"/> to a compute type on a device: <see cref="GwtPrecision.Auto"/> picks bfloat16
/// where the hardware computes it fast (a CPU whose flags include <c>avx512_bf16</c> or <c>amx_bf16</c>, read from
/// <c>/proc/cpuinfo</c>; a CUDA device of compute capability 8.0 or higher, read from the CUDA runtime), float32
/// elsewhere; <see cref="GwtPrecision.Float16"/> is refused on the CPU.
/// </summary>
internal static class PrecisionHardware
{
    /// <summary>The compute type for <paramref name="precision"/> on <paramref name="device"/>.</summary>
    /// <param name="precision">The requested precision.</param>
    /// <param name="device">The device training or scoring runs on.</param>
    /// <param name="optionName">The option's name, for the error message.</param>
    /// <exception cref="ArgumentException">Float16 on the CPU.</exception>
    public static ScalarType Resolve(GwtPrecision precision, Device device, string optionName)
    {
        bool cuda = device.type == DeviceType.CUDA;
        return precision switch
        {
            GwtPrecision.Float32 => ScalarType.Float32,
            GwtPrecision.BFloat16 => ScalarType.BFloat16,
            GwtPrecision.Float16 when !cuda => throw new ArgumentException(
                $"{optionName} = Float16 needs a CUDA device: float16 with loss scaling is for GPUs, and libtorch's CPU float16 " +
                "kernels are slower than float32. Use BFloat16 (or Auto) on the CPU.", optionName),
            GwtPrecision.Float16 => ScalarType.Float16,
            _ => ChooseAuto(cuda, cuda ? CudaComputeCapabilityMajor() : null, cuda ? "" : CpuFlags()),
        };
    }

    /// <summary><see cref="GwtPrecision.Auto"/>'s rule: bfloat16 on CUDA of capability ≥ 8 (Ampere and later) or on a CPU
    /// with bfloat16 instructions, float32 otherwise (including a CUDA device whose capability cannot be read).</summary>
    internal static ScalarType ChooseAuto(bool cuda, int? capabilityMajor, string cpuFlags)
    {
        if (cuda)
        {
            return capabilityMajor >= 8 ? ScalarType.BFloat16 : ScalarType.Float32;
        }
        var flags = cpuFlags.Split(new[] { ' ', '\t', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16") ? ScalarType.BFloat16 : ScalarType.Float32;
    }

    /// <summary>The <c>flags</c> line of <c>/proc/cpuinfo</c> (empty where there is none, such as on Windows or macOS).</summary>
    internal static string CpuFlags()
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
}
