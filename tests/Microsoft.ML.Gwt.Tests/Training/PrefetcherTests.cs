using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.Threading;

namespace Microsoft.ML.Gwt.Tests.Training;

[TestClass]
public sealed class PrefetcherTests
{
    [TestMethod]
    public void ItemsComeInOrderFromAnotherThreadAtMostCapacityAhead()
    {
        int consumer = Environment.CurrentManagedThreadId;
        var producerThreads = new HashSet<int>();
        int produced = 0, maxAhead = 0, consumed = 0;
        IEnumerable<int> Source()
        {
            for (int i = 0; i < 50; i++)
            {
                lock (producerThreads)
                {
                    producerThreads.Add(Environment.CurrentManagedThreadId);
                }
                Interlocked.Increment(ref produced);
                yield return i;
            }
        }
        var seen = new List<int>();
        foreach (var item in Prefetcher.Run(Source(), 3))
        {
            Thread.Sleep(1);
            maxAhead = Math.Max(maxAhead, Volatile.Read(ref produced) - consumed);
            seen.Add(item);
            consumed++;
        }
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToArray(), seen);
        Assert.IsFalse(producerThreads.Contains(consumer), "produced on a background thread");
        // Bounded queue of 3, plus one item the producer holds while waiting to add it, plus the one being consumed.
        Assert.IsTrue(maxAhead <= 5, $"producer ran {maxAhead} items ahead");
    }

    [TestMethod]
    public void CapacityZeroRunsOnTheCallersThread()
    {
        int consumer = Environment.CurrentManagedThreadId;
        IEnumerable<int> Source()
        {
            Assert.AreEqual(consumer, Environment.CurrentManagedThreadId);
            yield return 1;
        }
        CollectionAssert.AreEqual(new[] { 1 }, Prefetcher.Run(Source(), 0).ToArray());
    }

    [TestMethod]
    public void AProducerExceptionReachesTheConsumerAndEarlyDisposalStopsTheProducer()
    {
        IEnumerable<int> Failing()
        {
            yield return 1;
            throw new InvalidDataException("row 2 is bad");
        }
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => Prefetcher.Run(Failing(), 2).ToArray());
        Assert.AreEqual("row 2 is bad", ex.Message);

        bool closed = false;
        IEnumerable<int> Endless()
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    yield return i;
                }
            }
            finally
            {
                closed = true; // a cursor's Dispose
            }
        }
        Assert.AreEqual(3, Prefetcher.Run(Endless(), 2).Take(4).Last());
        Assert.IsTrue(closed, "disposing the consumer stops the producer and disposes the source");
    }
}
