using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

[TestClass]
public sealed class StreamedBatchesTests
{
    // Rows are ints; an example's "length" is the row value modulo 37 (so lengths are mixed through the stream).
    private static StreamedBatches<int, int> Batches(int rows, StreamingSettings s, int seed = 9) =>
        new(_ => Enumerable.Range(0, rows), r => r, r => r % 37, rows, s, seed);

    private static int[][] Epoch(StreamedBatches<int, int> b, int epoch, int skip = 0) =>
        b.Epoch(epoch, skip).Select(x => x.ToArray()).ToArray();

    private static long Padding(IEnumerable<int[]> batches) => batches.Sum(b => b.Sum(r => b.Max(x => x % 37) - r % 37));

    [TestMethod]
    public void WithoutLengthGroupingAndAPoolCoveringTheDataTheBatchesAreTheInMemoryOnes()
    {
        var inMemory = new InMemoryBatches<int>(Enumerable.Range(0, 103).ToArray(), 10, seed: 9);
        var streamed = Batches(103, new StreamingSettings(10, 103, false, 50, 2));
        Assert.AreEqual(inMemory.BatchesPerEpoch, streamed.BatchesPerEpoch);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = inMemory.Epoch(epoch, 0).Select(x => x.ToArray()).ToArray();
            var actual = Epoch(streamed, epoch);
            Assert.AreEqual(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                CollectionAssert.AreEqual(expected[i], actual[i], $"epoch {epoch} batch {i}");
            }
        }
    }

    [TestMethod]
    public void LengthGroupingSortsEachWindowShufflesItsBatchesAndCutsPadding()
    {
        var s = new StreamingSettings(8, 1000, true, 5, 0);
        var grouped = Epoch(Batches(400, s), 0);
        var plain = Epoch(Batches(400, s with { GroupByLength = false }), 0);
        // Same rows in each window of 5 batches (the shuffled stream cut every 40 rows), sorted within it.
        for (int w = 0; w < 10; w++)
        {
            var window = grouped.Skip(w * 5).Take(5).ToArray();
            CollectionAssert.AreEquivalent(plain.Skip(w * 5).Take(5).SelectMany(b => b).ToArray(), window.SelectMany(b => b).ToArray(), $"window {w}");
            var ranges = window.Select(b => (Min: b.Min(r => r % 37), Max: b.Max(r => r % 37))).OrderBy(r => r.Max).ToArray();
            for (int i = 1; i < ranges.Length; i++)
            {
                Assert.IsTrue(ranges[i - 1].Max <= ranges[i].Min, $"window {w}: batches hold contiguous length ranges");
            }
        }
        // The batches' order within windows is shuffled: not longest-first in every window.
        Assert.IsTrue(Enumerable.Range(0, 10).Any(w =>
        {
            var maxima = grouped.Skip(w * 5).Take(5).Select(b => b.Max(r => r % 37)).ToArray();
            return !maxima.SequenceEqual(maxima.OrderByDescending(m => m));
        }), "batches are shuffled within their window");
        Assert.IsTrue(Padding(grouped) * 3 < Padding(plain), $"padding {Padding(grouped)} grouped against {Padding(plain)} plain");
        // A window of one batch sorts within the batch only: the same batches' rows as no grouping.
        var one = Epoch(Batches(400, s with { LengthGroupingWindow = 1 }), 0);
        for (int i = 0; i < plain.Length; i++)
        {
            CollectionAssert.AreEquivalent(plain[i], one[i]);
        }
    }

    [TestMethod]
    public void SkippingBatchesGivesTheRestOfTheSameEpoch()
    {
        foreach (var s in new[] { new StreamingSettings(7, 30, true, 4, 0), new StreamingSettings(7, 30, false, 4, 3) })
        {
            var b = Batches(200, s);
            var full = Epoch(b, 1);
            Assert.AreEqual(29, full.Length);
            foreach (int skip in new[] { 0, 1, 3, 4, 5, 13, 28 })
            {
                var rest = Epoch(b, 1, skip);
                Assert.AreEqual(full.Length - skip, rest.Length);
                for (int i = 0; i < rest.Length; i++)
                {
                    CollectionAssert.AreEqual(full[skip + i], rest[i], $"grouping {s.GroupByLength}, skip {skip}, batch {i}");
                }
            }
            Assert.IsFalse(Epoch(b, 0)[0].SequenceEqual(full[0]), "each epoch has its own order");
        }
    }

    [TestMethod]
    public void SkippedWindowsAreNotEncoded()
    {
        int encoded = 0;
        var b = new StreamedBatches<int, int>(_ => Enumerable.Range(0, 100), r => { encoded++; return r; }, r => r, 100,
            new StreamingSettings(5, 10, true, 4, 0), 1);
        _ = b.Epoch(0, 9).ToArray(); // windows of 20 rows: two skipped whole, one batch of the third skipped
        Assert.AreEqual(60, encoded);
    }
}
