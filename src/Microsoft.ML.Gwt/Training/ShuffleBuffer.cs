namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// A seeded shuffle over a stream through a pool of bounded size, the approach of ML.NET's <c>ShuffleRows</c>: the first
/// <c>size</c> items fill the pool; then each new item replaces a uniformly drawn pool item, which is emitted; at the end
/// the pool is emitted in a shuffled order. Memory is the pool, whatever the stream's length. When the whole stream fits
/// in the pool, the result is the permutation <c>rng.Shuffle</c> gives an array of the stream's items: the order the
/// rows of an epoch would have in memory, shuffled by the same generator.
/// </summary>
internal static class ShuffleBuffer
{
    /// <summary>The items of <paramref name="source"/> shuffled through a pool of <paramref name="size"/> items (1: no shuffling).</summary>
    public static IEnumerable<T> Shuffle<T>(IEnumerable<T> source, int size, Random rng)
    {
        var pool = new List<T>(Math.Min(size, 4096));
        foreach (var item in source)
        {
            if (pool.Count < size)
            {
                pool.Add(item);
                continue;
            }
            int j = rng.Next(size);
            yield return pool[j];
            pool[j] = item;
        }
        var rest = pool.ToArray();
        pool.Clear();
        rng.Shuffle(rest);
        foreach (var item in rest)
        {
            yield return item;
        }
    }
}
