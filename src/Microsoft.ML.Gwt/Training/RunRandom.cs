using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// The random streams of one training run, all derived from its seed (<see cref="RunSeeds"/>): weight initialization,
/// the data's order and masks (seeded by the batch streams) and dropout (TorchSharp's generator re-seeded at every
/// micro-batch from the step and micro-batch index, so that a run resumed mid-epoch draws the same dropout masks as an
/// uninterrupted one).
/// </summary>
/// <remarks>
/// TorchSharp's modules and dropout draw from the process-wide generator and take no generator of their own. A run
/// therefore holds that generator only inside a <see cref="GeneratorScope"/>: while it creates the model
/// (<see cref="Initialization"/>) and while it runs a micro-batch's forward pass (<see cref="MicroBatch"/>). A scope
/// takes a process-wide lock, saves the generator's state, seeds it, and on disposal puts the state back and releases
/// the lock. So runs in one process at once take turns on the generator, one scope at a time, and each draws exactly
/// what it would draw alone (the same model as run one after the other); and <c>Fit</c> leaves the caller's own random
/// sequence where it was. Code of this library that creates modules outside a run (loading a model, a low-precision
/// scoring copy) holds a scope too (<see cref="Borrow"/>). TorchSharp exposes no CUDA generator state; on CUDA the CUDA
/// generator is left seeded by the last scope.
/// </remarks>
internal sealed class RunRandom : IDisposable
{
    private static int s_activeRuns;
    private bool _disposed;

    /// <summary>A run with seed <paramref name="seed"/>; counted among the runs of the process until disposed.</summary>
    public RunRandom(int seed)
    {
        Seed = seed;
        OtherRuns = Interlocked.Increment(ref s_activeRuns) - 1;
    }

    /// <summary>The run's seed.</summary>
    public int Seed { get; }

    /// <summary>The seeds derived from <see cref="Seed"/>.</summary>
    public RunSeeds Seeds => new(Seed);

    /// <summary>The other runs in this process when this one started (they take turns on the generator).</summary>
    public int OtherRuns { get; }

    /// <summary>The log line of a run that starts beside <see cref="OtherRuns"/> others, or null when it is alone.</summary>
    public string? SharingNotice => OtherRuns == 0 ? null
        : $"{OtherRuns} other training run(s) in this process: this run waits for them whenever it needs TorchSharp's process-wide random generator " +
          "(creating the model, each micro-batch's forward pass), so it trains the same model as it would alone, more slowly.";

    /// <summary>Holds the generator, seeded for creating the model's weights, until disposed.</summary>
    public GeneratorScope Initialization() => new(Seed);

    /// <summary>Holds the generator, seeded for the dropout of micro-batch <paramref name="micro"/> of optimizer step
    /// <paramref name="step"/> (0-based), until disposed.</summary>
    public GeneratorScope MicroBatch(long step, int micro) => new(Seeds.MicroBatch(step, micro));

    /// <summary>Holds the generator unseeded until disposed (its state is put back then): for creating modules whose
    /// random initialization is overwritten, so that they neither disturb a run nor the caller's sequence.</summary>
    public static GeneratorScope Borrow() => new(null);

    /// <summary>The run has ended.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Interlocked.Decrement(ref s_activeRuns);
        }
    }

    /// <summary>TorchSharp's generator held by one thread: the process-wide lock, and the state to put back. Dispose it
    /// on the thread that made it.</summary>
    internal sealed class GeneratorScope : IDisposable
    {
        private static readonly object s_generator = new();
        private readonly Tensor _saved;
        private bool _disposed;

        internal GeneratorScope(long? seed)
        {
            Monitor.Enter(s_generator);
            try
            {
                _saved = torch.random.get_rng_state().DetachFromDisposeScope();
                if (seed is long s)
                {
                    torch.random.manual_seed(s);
                }
            }
            catch
            {
                Monitor.Exit(s_generator);
                throw;
            }
        }

        /// <summary>Puts the generator's state back and releases it.</summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            try
            {
                torch.random.set_rng_state(_saved);
                _saved.Dispose();
            }
            finally
            {
                Monitor.Exit(s_generator);
            }
        }
    }
}
