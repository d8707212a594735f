namespace Microsoft.ML.Gwt.Training;

/// <summary>How <see cref="StreamedBatches{TRow, TExample}"/> turns a row stream into batches.</summary>
/// <param name="BatchSize">Examples per batch.</param>
/// <param name="ShuffleBufferSize">Rows in the shuffle pool (<see cref="ShuffleBuffer"/>); 1 keeps the stream's order.</param>
/// <param name="GroupByLength">Sort the examples of each window by length, cut the window into batches and shuffle
/// the batches, so that a batch pads little.</param>
/// <param name="LengthGroupingWindow">Batches per length-grouping window.</param>
/// <param name="PrefetchBatches">Batches the background producer may hold ready; 0 produces them on the training thread.</param>
internal sealed record StreamingSettings(int BatchSize, int ShuffleBufferSize, bool GroupByLength, int LengthGroupingWindow, int PrefetchBatches)
{
    /// <summary>Batches a producer prefetches when a core is free for it.</summary>
    public const int DefaultPrefetchBatches = 4;

    /// <summary>The producer's queue length for the option's value: <paramref name="requested"/> when set; otherwise
    /// <see cref="DefaultPrefetchBatches"/> when a core is free for the producer (the model runs on CUDA, or the process
    /// has more logical processors than TorchSharp's intra-op threads), else 0. On 2 cores with TorchSharp's 2 threads a
    /// producer competes with the forward/backward threads: it made training slower (bench/Streaming throughput).</summary>
    public static int ResolvePrefetch(int? requested, bool cuda, int logicalProcessors, int torchThreads) =>
        requested ?? (cuda || logicalProcessors > torchThreads ? DefaultPrefetchBatches : 0);
}
