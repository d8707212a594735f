using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// Runs an enumeration on a background producer thread, <c>capacity</c> items ahead of the consumer (a bounded queue),
/// so that reading, tokenizing and batching overlap the training step (when scoring: the forward pass). An exception of
/// the producer is rethrown to the consumer at the point it would have surfaced; disposing the consumer's enumerator
/// early stops the producer and waits for it (so the producer's cursor is closed when the enumerator is).
/// </summary>
internal static class Prefetcher
{
    /// <summary>The items of <paramref name="source"/> produced on a background thread up to <paramref name="capacity"/>
    /// ahead; with capacity 0 the source is enumerated on the caller's thread.</summary>
    public static IEnumerable<T> Run<T>(IEnumerable<T> source, int capacity)
    {
        if (capacity <= 0)
        {
            foreach (var item in source)
            {
                yield return item;
            }
            yield break;
        }
        using var queue = new BlockingCollection<T>(capacity);
        using var stop = new CancellationTokenSource();
        ExceptionDispatchInfo? failure = null;
        var producer = new Thread(() =>
        {
            try
            {
                foreach (var item in source)
                {
                    queue.Add(item, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The consumer stopped early.
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                queue.CompleteAdding();
            }
        })
        { IsBackground = true, Name = "Gwt batch producer" };
        producer.Start();
        try
        {
            foreach (var item in queue.GetConsumingEnumerable())
            {
                yield return item;
            }
            producer.Join();
            failure?.Throw();
        }
        finally
        {
            stop.Cancel();
            producer.Join();
        }
    }
}
