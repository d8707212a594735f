using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Microsoft.ML.Gwt.Core.Threading;

/// <summary>
/// Runs an enumeration on a background producer thread, <c>capacity</c> items ahead of the consumer (a bounded queue),
/// so that reading, tokenizing and batching overlap the training step (when scoring: the forward pass). An exception of
/// the producer is rethrown to the consumer at the point it would have surfaced; disposing the consumer's enumerator
/// early stops the producer and waits for it (so the producer's cursor is closed when the enumerator is). A consumer
/// that drops its enumerator without disposing it does not pin the producer: a producer waiting for room checks every
/// <see cref="AbandonCheckMilliseconds"/> milliseconds whether the enumerator is still reachable, and once the garbage collector has
/// taken it, stops, disposes the source's enumerator and calls <c>abandoned</c>.
/// </summary>
public static class Prefetcher
{
    /// <summary>How often a producer waiting for room checks whether its consumer was dropped.</summary>
    internal const int AbandonCheckMilliseconds = 500;

    /// <summary>The items of <paramref name="source"/> produced on a background thread up to <paramref name="capacity"/>
    /// ahead; with capacity 0 the source is enumerated on the caller's thread. <paramref name="abandoned"/> (or null)
    /// runs on the producer thread, after the source's enumerator is disposed, when the consumer's enumerator was
    /// garbage-collected without being disposed (never when it is disposed); it must not refer to the consumer.</summary>
    public static IEnumerable<T> Run<T>(IEnumerable<T> source, int capacity, Action? abandoned = null)
    {
        if (capacity <= 0)
        {
            foreach (var item in source)
            {
                yield return item;
            }
            yield break;
        }
        // Reachable only through this enumerator: the producer holds it weakly.
        var consumer = new object();
        var producer = new Producer<T>(source, capacity, new WeakReference(consumer), abandoned);
        try
        {
            foreach (var item in producer.Queue.GetConsumingEnumerable())
            {
                yield return item;
            }
            producer.Thread.Join();
            producer.Failure?.Throw();
        }
        finally
        {
            producer.Stop.Cancel();
            producer.Thread.Join();
            producer.Queue.Dispose();
            producer.Stop.Dispose();
            GC.KeepAlive(consumer);
        }
    }

    /// <summary>The producer thread and what it shares with the consumer; it holds no reference to the consumer's
    /// enumerator (only the weak one), so a dropped enumerator can be collected while the producer waits.</summary>
    private sealed class Producer<T>
    {
        private readonly IEnumerable<T> _source;
        private readonly WeakReference _consumer;
        private readonly Action? _abandoned;

        public Producer(IEnumerable<T> source, int capacity, WeakReference consumer, Action? abandoned)
        {
            _source = source;
            _consumer = consumer;
            _abandoned = abandoned;
            Queue = new BlockingCollection<T>(capacity);
            Thread = new Thread(Produce) { IsBackground = true, Name = "Gwt batch producer" };
            Thread.Start();
        }

        public BlockingCollection<T> Queue { get; }

        public CancellationTokenSource Stop { get; } = new();

        public Thread Thread { get; }

        public ExceptionDispatchInfo? Failure { get; private set; }

        private void Produce()
        {
            bool dropped = false;
            try
            {
                dropped = Fill();
            }
            catch (OperationCanceledException) when (Stop.IsCancellationRequested)
            {
                // The consumer stopped early.
            }
            catch (Exception ex)
            {
                Failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                Queue.CompleteAdding();
            }
            if (dropped)
            {
                try
                {
                    _abandoned?.Invoke();
                }
                catch (Exception)
                {
                    // Nobody is left to report to (the consumer is gone), and a background thread must not fail the process.
                }
            }
        }

        /// <summary>Adds the source's items; returns true when the consumer was dropped while the queue was full (the
        /// source's enumerator is disposed on the way out).</summary>
        private bool Fill()
        {
            foreach (var item in _source)
            {
                while (!Queue.TryAdd(item, AbandonCheckMilliseconds, Stop.Token))
                {
                    if (!_consumer.IsAlive)
                    {
                        return true;
                    }
                }
            }
            return false;
        }
    }
}
