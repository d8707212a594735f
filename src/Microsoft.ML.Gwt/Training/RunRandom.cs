using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// The random streams of one training run, all derived from its seed: weight initialization, the shuffling order of each
/// epoch (a <see cref="Random"/> per epoch) and dropout (TorchSharp's generator re-seeded at every micro-batch from the
/// step and micro-batch index, so that a run resumed mid-epoch draws the same dropout masks as an uninterrupted one).
/// </summary>
/// <remarks>
/// TorchSharp's modules and dropout draw from the process-wide CPU generator and take no generator of their own, so the
/// run owns that generator only while it trains: the caller's CPU generator state is saved when the run starts and put
/// back when it ends (also on an exception), so <c>Fit</c> leaves the user's own random sequence where it was. TorchSharp
/// exposes no CUDA generator state; on CUDA the CUDA generator is left seeded by the run.
/// </remarks>
internal sealed class RunRandom : IDisposable
{
    private readonly Tensor _callerState;
    private bool _disposed;

    public RunRandom(int seed)
    {
        Seed = seed;
        _callerState = torch.random.get_rng_state();
    }

    /// <summary>The run's seed.</summary>
    public int Seed { get; }

    /// <summary>Seeds the generator for creating the model's weights.</summary>
    public void SeedInitialization() => torch.random.manual_seed(Seed);

    /// <summary>Seeds the generator for the dropout of micro-batch <paramref name="micro"/> of optimizer step
    /// <paramref name="step"/> (0-based).</summary>
    public void SeedMicroBatch(long step, int micro) => torch.random.manual_seed(unchecked(Seed * 1_000_003L + (step + 1) * 131L + micro));

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the <paramref name="count"/> training rows.</summary>
    public int[] EpochOrder(int epoch, int count)
    {
        var rng = new Random(unchecked(Seed * 31 + epoch));
        var order = Enumerable.Range(0, count).ToArray();
        rng.Shuffle(order);
        return order;
    }

    /// <summary>Puts the caller's generator state back.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        torch.random.set_rng_state(_callerState);
        _callerState.Dispose();
    }
}
