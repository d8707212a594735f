using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>The reference the streamed batches are held to: examples held in memory, each epoch visiting all of them in
/// the run's seeded order for that epoch (<see cref="EpochOrder"/>), <c>batchSize</c> at a time (the last batch may be
/// short).</summary>
internal sealed class InMemoryBatches<TExample> : IBatchStream<IReadOnlyList<TExample>>
{
    private readonly IReadOnlyList<TExample> _rows;
    private readonly int _batchSize;
    private readonly RunSeeds _seeds;

    public InMemoryBatches(IReadOnlyList<TExample> rows, int batchSize, int seed)
    {
        _rows = rows;
        _batchSize = batchSize;
        _seeds = new RunSeeds(seed);
    }

    /// <inheritdoc />
    public int BatchesPerEpoch => (_rows.Count + _batchSize - 1) / _batchSize;

    /// <summary>The order in which epoch <paramref name="epoch"/> of a run seeded <paramref name="seed"/> visits
    /// <paramref name="count"/> rows held in memory: <see cref="RunSeeds.EpochOrder"/>'s generator shuffling 0..count-1.</summary>
    public static int[] EpochOrder(int seed, int epoch, int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(new RunSeeds(seed).EpochOrder(epoch)).Shuffle(order);
        return order;
    }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyList<TExample>> Epoch(int epoch, int skip)
    {
        var order = EpochOrder(_seeds.Seed, epoch, _rows.Count);
        for (int batch = skip; batch < BatchesPerEpoch; batch++)
        {
            int first = batch * _batchSize;
            int count = Math.Min(_batchSize, _rows.Count - first);
            var rows = new TExample[count];
            for (int i = 0; i < count; i++)
            {
                rows[i] = _rows[order[first + i]];
            }
            yield return rows;
        }
    }
}
