namespace Microsoft.ML.Gwt.Training;

/// <summary>Batches of examples held in memory: each epoch visits all of them in the run's seeded order for that epoch
/// (<see cref="RunRandom.EpochOrder"/>), <c>batchSize</c> at a time (the last batch may be short).</summary>
internal sealed class InMemoryBatches<TExample> : IBatchStream<IReadOnlyList<TExample>>
{
    private readonly IReadOnlyList<TExample> _rows;
    private readonly int _batchSize;
    private readonly RunRandom _random;

    public InMemoryBatches(IReadOnlyList<TExample> rows, int batchSize, RunRandom random)
    {
        _rows = rows;
        _batchSize = batchSize;
        _random = random;
    }

    /// <inheritdoc />
    public int BatchesPerEpoch => (_rows.Count + _batchSize - 1) / _batchSize;

    /// <inheritdoc />
    public IEnumerable<IReadOnlyList<TExample>> Epoch(int epoch, int skip)
    {
        var order = _random.EpochOrder(epoch, _rows.Count);
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
