using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>The one precision → compute type rule, on both kinds of CPU through the simulation seam (no bfloat16 matmul
/// runs here), with expected values written out, not recomputed.</summary>
[TestClass]
public sealed class PrecisionHardwareTests
{
    [TestMethod]
    [DataRow(false, null, "fpu sse2 avx2 avx512f avx512_bf16 fma", true)]
    [DataRow(false, null, "avx2 amx_bf16 amx_tile", true)]
    [DataRow(false, null, "fpu avx avx2 fma f16c avx512f avx512bw", false)]
    [DataRow(false, null, "avx512_bf16x", false)]
    [DataRow(false, null, "", false)]
    [DataRow(true, 8, "", true)]
    [DataRow(true, 9, "", true)]
    [DataRow(true, 7, "avx512_bf16", false)]
    [DataRow(true, null, "avx512_bf16", false)]
    public void BFloat16IsFastOnCpusWithItsInstructionsAndOnCudaOfCapability8(bool cuda, int? capability, string flags, bool fast) =>
        Assert.AreEqual(fast, PrecisionHardware.IsFast(cuda, capability, flags));

    [TestMethod]
    [DataRow(GwtPrecision.Float32, true, ScalarType.Float32, null)]
    [DataRow(GwtPrecision.Float32, false, ScalarType.Float32, null)]
    [DataRow(GwtPrecision.Auto, true, ScalarType.BFloat16, null)]
    [DataRow(GwtPrecision.Auto, false, ScalarType.Float32, null)]
    [DataRow(GwtPrecision.BFloat16, true, ScalarType.BFloat16, null)]
    [DataRow(GwtPrecision.BFloat16, false, ScalarType.BFloat16, "50x slower than float32")]
    [DataRow(GwtPrecision.Float16, true, ScalarType.Float32, "Float16 needs a CUDA device")]
    [DataRow(GwtPrecision.Float16, false, ScalarType.Float32, "Float16 needs a CUDA device")]
    public void EachPrecisionResolvesOnTheCpuItRunsOn(GwtPrecision precision, bool bf16Cpu, ScalarType expected, string? warning)
    {
        using var cpu = PrecisionHardware.SimulateCpu(bf16Cpu);
        var choice = PrecisionHardware.Resolve(precision, CPU);
        Assert.AreEqual(expected, choice.ComputeType);
        if (warning is null)
        {
            Assert.IsNull(choice.Warning);
        }
        else
        {
            Assert.IsNotNull(choice.Warning);
            StringAssert.Contains(choice.Warning, warning);
            StringAssert.StartsWith(choice.Warning, $"Precision {precision}");
        }
    }

    [TestMethod]
    public void AFloat32RunIsToldTheMeasuredGainOnlyWhereBFloat16IsFast()
    {
        using (PrecisionHardware.SimulateCpu(true))
        {
            var notice = PrecisionHardware.Float32Notice(ScalarType.Float32, CPU);
            Assert.IsNotNull(notice);
            StringAssert.Contains(notice, "CPU has bfloat16 instructions (avx512_bf16");
            StringAssert.Contains(notice, "2.3-2.7x faster");
            StringAssert.Contains(notice, "1.06-1.09x");
            StringAssert.Contains(notice, "Precision = BFloat16 or Auto");
            Assert.IsNull(PrecisionHardware.Float32Notice(ScalarType.BFloat16, CPU), "a bfloat16 run needs no notice");
        }
        using (PrecisionHardware.SimulateCpu(false))
        {
            Assert.IsNull(PrecisionHardware.Float32Notice(ScalarType.Float32, CPU));
        }
    }

    [TestMethod]
    public void Float16TrainingOnTheCpuIsRefusedNamingTheOption()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => PrecisionHardware.ThrowIfUntrainable(GwtPrecision.Float16, CPU, "Precision"));
        Assert.AreEqual("Precision", ex.ParamName);
        StringAssert.Contains(ex.Message, "Precision = Float16 needs a CUDA device");
        StringAssert.Contains(ex.Message, "Use BFloat16 (or Auto) on the CPU.");
        foreach (var ok in new[] { GwtPrecision.Auto, GwtPrecision.Float32, GwtPrecision.BFloat16 })
        {
            PrecisionHardware.ThrowIfUntrainable(ok, CPU, "Precision");
        }
    }

    [TestMethod]
    public void TheSimulationHoldsForTheCallingFlowOnlyAndTheRealProbeReadsThisMachine()
    {
        // The machine's own answer, read here independently of the code under test.
        if (!File.Exists("/proc/cpuinfo"))
        {
            Assert.Inconclusive("no /proc/cpuinfo on this machine: the real probe reads no flags here");
        }
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(':', 2)[1]
            .Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
        bool machine = flags.Any(f => f is "avx512_bf16" or "amx_bf16");
        CollectionAssert.AreEqual(flags, PrecisionHardware.CpuFlags.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries));
        Assert.AreEqual(machine, PrecisionHardware.FastBFloat16(CPU));
        using (PrecisionHardware.SimulateCpu(!machine))
        {
            Assert.AreEqual(!machine, PrecisionHardware.FastBFloat16(CPU));
            bool elsewhere;
            using (ExecutionContext.SuppressFlow())
            {
                elsewhere = Task.Run(() => PrecisionHardware.FastBFloat16(CPU)).Result;
            }
            Assert.AreEqual(machine, elsewhere, "a flow that did not start inside the simulation sees the real CPU");
            using (PrecisionHardware.SimulateCpu(machine))
            {
                Assert.AreEqual(machine, PrecisionHardware.FastBFloat16(CPU));
            }
            Assert.AreEqual(!machine, PrecisionHardware.FastBFloat16(CPU), "nested simulations restore the outer one");
        }
        Assert.AreEqual(machine, PrecisionHardware.FastBFloat16(CPU));
    }
}
