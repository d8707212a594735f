using Microsoft.ML.Gwt.Core.Threading;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// Batches from a row stream read anew each epoch (a cursor, or rows the caller keeps in memory): the stream goes
/// through a seeded <see cref="ShuffleBuffer"/>, is cut into windows (one batch, or <c>LengthGroupingWindow</c> batches
/// when grouping by length), each window's rows are encoded (tokenized) and, with length grouping, sorted by length, cut
/// into batches and the batches shuffled; all of it on a background producer (<see cref="Prefetcher"/>). Memory is the
/// shuffle pool, one window and the prefetched batches, whatever the row count.
/// </summary>
/// <remarks>The order of an epoch depends only on the seed, the epoch and the stream, so a resumed run that skips the
/// first batches of an epoch sees the same batches as an uninterrupted run; skipped windows are read but not encoded.</remarks>
/// <typeparam name="TRow">A row as read (e.g. its text and label).</typeparam>
/// <typeparam name="TExample">An encoded example.</typeparam>
internal sealed class StreamedBatches<TRow, TExample> : IBatchStream<IReadOnlyList<TExample>>
{
    private readonly Func<int, IEnumerable<TRow>> _rows;
    private readonly Func<TRow, TExample> _encode;
    private readonly Func<TExample, int> _length;
    private readonly StreamingSettings _s;
    private readonly RunSeeds _seeds;

    /// <param name="rows">The rows of an epoch (the same rows every epoch; their order may depend on the epoch).</param>
    /// <param name="encode">Encodes a row (runs on the producer thread).</param>
    /// <param name="length">An example's length for length grouping.</param>
    /// <param name="rowCount">Rows per epoch.</param>
    /// <param name="settings">Batching, shuffling, grouping and prefetching.</param>
    /// <param name="seed">The run's seed.</param>
    public StreamedBatches(Func<int, IEnumerable<TRow>> rows, Func<TRow, TExample> encode, Func<TExample, int> length, long rowCount,
        StreamingSettings settings, int seed)
    {
        _rows = rows;
        _encode = encode;
        _length = length;
        _s = settings;
        _seeds = new RunSeeds(seed);
        BatchesPerEpoch = checked((int)((rowCount + settings.BatchSize - 1) / settings.BatchSize));
    }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyList<TExample>> Epoch(int epoch, int skip) => Prefetcher.Run(Produce(epoch, skip), _s.PrefetchBatches);

    private IEnumerable<IReadOnlyList<TExample>> Produce(int epoch, int skip)
    {
        int windowBatches = _s.GroupByLength ? _s.LengthGroupingWindow : 1;
        int windowRows = windowBatches * _s.BatchSize;
        int window = 0;
        int skipInWindow = skip % windowBatches;
        int skipWindows = skip / windowBatches;
        var rows = new List<TRow>(windowRows);
        foreach (var row in ShuffleBuffer.Shuffle(_rows(epoch), _s.ShuffleBufferSize, new Random(_seeds.EpochOrder(epoch))))
        {
            rows.Add(row);
            if (rows.Count < windowRows)
            {
                continue;
            }
            foreach (var batch in Window(epoch, window, rows, window == skipWindows ? skipInWindow : 0, window < skipWindows))
            {
                yield return batch;
            }
            window++;
            rows.Clear();
        }
        if (rows.Count > 0)
        {
            foreach (var batch in Window(epoch, window, rows, window == skipWindows ? skipInWindow : 0, window < skipWindows))
            {
                yield return batch;
            }
        }
    }

    /// <summary>The batches of one window, after the first <paramref name="skip"/>; a skipped window is not encoded.</summary>
    private IEnumerable<IReadOnlyList<TExample>> Window(int epoch, int window, List<TRow> rows, int skip, bool skipAll)
    {
        if (skipAll)
        {
            yield break;
        }
        var examples = rows.Select(_encode).ToArray();
        if (_s.GroupByLength)
        {
            // Longest first, ties in stream order (a stable sort), then the batches in a seeded order.
            var lengths = examples.Select(_length).ToArray();
            var byLength = Enumerable.Range(0, examples.Length).OrderByDescending(i => lengths[i]).Select(i => examples[i]).ToArray();
            examples = byLength;
        }
        int batches = (examples.Length + _s.BatchSize - 1) / _s.BatchSize;
        var order = Enumerable.Range(0, batches).ToArray();
        if (_s.GroupByLength)
        {
            new Random(_seeds.LengthWindow(epoch, window)).Shuffle(order);
        }
        foreach (int b in order.Skip(skip))
        {
            yield return examples.Skip(b * _s.BatchSize).Take(_s.BatchSize).ToArray();
        }
    }
}
