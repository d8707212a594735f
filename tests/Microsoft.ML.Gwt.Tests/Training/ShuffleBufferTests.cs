using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

[TestClass]
public sealed class ShuffleBufferTests
{
    [TestMethod]
    public void AStreamThatFitsThePoolGetsTheInMemoryEpochOrder()
    {
        // The in-memory order is the epoch's generator shuffling 0..n-1.
        var order = InMemoryBatches<int>.EpochOrder(5, 2, 100);
        var streamed = ShuffleBuffer.Shuffle(Enumerable.Range(0, 100), 100, new Random(new RunSeeds(5).EpochOrder(2))).ToArray();
        CollectionAssert.AreEqual(order, streamed);
    }

    [TestMethod]
    public void ASmallPoolEmitsEveryItemOnceAndOnlyFromItsWindow()
    {
        const int n = 1000, size = 16;
        var output = ShuffleBuffer.Shuffle(Enumerable.Range(0, n), size, new Random(1)).ToArray();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, n).ToArray(), output);
        CollectionAssert.AreNotEqual(Enumerable.Range(0, n).ToArray(), output, "shuffled");
        // The k-th item out was read by then: at most the pool plus k items ahead of it.
        for (int k = 0; k < n - size; k++)
        {
            Assert.IsTrue(output[k] <= k + size, $"item {output[k]} at {k} is beyond the pool of {size}");
        }
        Assert.IsTrue(output.Take(n - size).Select((v, k) => Math.Abs(v - k)).Max() > size / 2, "the pool mixes rows");
    }

    [TestMethod]
    public void APoolOfOneKeepsTheOrderAndTheSameSeedGivesTheSameOrder()
    {
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToArray(), ShuffleBuffer.Shuffle(Enumerable.Range(0, 50), 1, new Random(3)).ToArray());
        CollectionAssert.AreEqual(ShuffleBuffer.Shuffle(Enumerable.Range(0, 50), 7, new Random(3)).ToArray(),
            ShuffleBuffer.Shuffle(Enumerable.Range(0, 50), 7, new Random(3)).ToArray());
    }
}
