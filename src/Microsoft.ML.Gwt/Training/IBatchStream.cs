namespace Microsoft.ML.Gwt.Training;

/// <summary>The training data as the engine reads it: each epoch a stream of micro-batches in training order.</summary>
/// <typeparam name="TBatch">One micro-batch.</typeparam>
internal interface IBatchStream<TBatch>
{
    /// <summary>Micro-batches per epoch (the same every epoch; the schedule's length is computed from it).</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The micro-batches of epoch <paramref name="epoch"/> (0-based) in training order, starting after the
    /// first <paramref name="skip"/> (a resumed run continues there). The order is a function of the run's seed and the
    /// epoch only, so a resumed run sees the same batches as an uninterrupted one. Disposing the enumerator releases
    /// the epoch's cursor.</summary>
    IEnumerable<TBatch> Epoch(int epoch, int skip);
}
