namespace Microsoft.ML.Gwt.Training;

/// <summary>How <see cref="StreamedBatches{TRow, TExample}"/> turns a row stream into batches.</summary>
/// <param name="BatchSize">Examples per batch.</param>
/// <param name="ShuffleBufferSize">Rows in the shuffle pool (<see cref="ShuffleBuffer"/>); 1 keeps the stream's order.</param>
/// <param name="GroupByLength">Sort the examples of each window by length, cut the window into batches and shuffle
/// the batches, so that a batch pads little.</param>
/// <param name="LengthGroupingWindow">Batches per length-grouping window.</param>
/// <param name="PrefetchBatches">Batches the background producer may hold ready; 0 produces them on the training thread.</param>
internal sealed record StreamingSettings(int BatchSize, int ShuffleBufferSize, bool GroupByLength, int LengthGroupingWindow, int PrefetchBatches);
