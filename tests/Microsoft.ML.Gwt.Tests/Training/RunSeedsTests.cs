using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>The derived seeds are part of what a run is: the same seed trains the same weights and a checkpoint written by
/// an earlier build resumes bit-exact. These values were computed from the formulas as they stood before they moved into
/// <see cref="RunSeeds"/> (seed * 31 + epoch for the epoch order, and so on); a changed formula fails here.</summary>
[TestClass]
public sealed class RunSeedsTests
{
    [TestMethod]
    [DataRow(42, 1305, 1305003920, 42001569L, 332601, -1765687506, -182847734, 1322)]
    [DataRow(-7, -214, -214000637, -6998578L, -55430, 1310946381, -1401181143, -197)]
    [DataRow(int.MaxValue, 2147483620, 2119483569, 2147490089452384L, 2147475732, -2089791885, -506952113, 2147483637)]
    public void EachDerivedSeedKeepsItsValue(int seed, int epochOrder, int lengthWindow, long microBatch, int sourceShuffle,
        int mlmMask, int heldOutMask, int mlmOrder)
    {
        var seeds = new RunSeeds(seed);
        Assert.AreEqual(epochOrder, seeds.EpochOrder(3));
        Assert.AreEqual(lengthWindow, seeds.LengthWindow(3, 5));
        Assert.AreEqual(microBatch, seeds.MicroBatch(10, 2));
        Assert.AreEqual(sourceShuffle, seeds.SourceShuffle(3));
        Assert.AreEqual(mlmMask, seeds.MlmMask(3, 1000));
        Assert.AreEqual(heldOutMask, seeds.MlmMask(-1, 0));
        Assert.AreEqual(mlmOrder, seeds.MlmOrder(3));
    }

    [TestMethod]
    public void OverflowWrapsAsBefore()
    {
        // Positions and steps past 2^32 wrap in 64 bits, then the mask seed keeps the low 32 bits.
        Assert.AreEqual(-856921215, new RunSeeds(42).MlmMask(0, 5_000_000_000L));
        Assert.AreEqual(-1876576882, new RunSeeds(-7).MlmMask(2, 5_000_000_000L));
        Assert.AreEqual(-1181025594, new RunSeeds(int.MaxValue).MlmMask(0, 5_000_000_000L));
        Assert.AreEqual(1178999999993000113L, new RunSeeds(-7).MicroBatch(9_000_000_000_000_000L, 3));
    }

    [TestMethod]
    public void TheRunsDropoutScopeSeedsTheGeneratorWithTheMicroBatchSeed()
    {
        using var random = new RunRandom(42);
        float drawn, expected;
        using (random.MicroBatch(10, 2))
        {
            drawn = TorchSharp.torch.rand(1).item<float>();
        }
        using (RunRandom.Borrow())
        {
            TorchSharp.torch.random.manual_seed(42001569L);
            expected = TorchSharp.torch.rand(1).item<float>();
        }
        Assert.AreEqual(expected, drawn);
    }
}
