namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// Every seed a training run derives from its one seed, and the only place they are derived. The values are part of the
/// run's contract: the same seed trains the same weights, a run resumed from a checkpoint (written by any version that
/// derived them this way) draws what the uninterrupted run would have drawn. So a formula here is never changed; a new
/// random stream gets a new method.
/// </summary>
/// <param name="Seed">The run's seed (<c>Seed</c> of the options, or one drawn from ML.NET's host).</param>
internal readonly record struct RunSeeds(int Seed)
{
    /// <summary>Seeds the shuffle of epoch <paramref name="epoch"/>'s rows (the classifier's shuffle pool; with every
    /// row in the pool, the permutation <c>Random.Shuffle</c> gives the rows in memory).</summary>
    public int EpochOrder(int epoch) => unchecked(Seed * 31 + epoch);

    /// <summary>Seeds the order of the batches of window <paramref name="window"/> of epoch <paramref name="epoch"/>
    /// when the classifier groups rows by length.</summary>
    public int LengthWindow(int epoch, int window) => unchecked((Seed * 31 + epoch) * 1_000_003 + window);

    /// <summary>Seeds TorchSharp's generator (dropout) for micro-batch <paramref name="micro"/> of optimizer step
    /// <paramref name="step"/> (0-based), so a run resumed mid-epoch draws the uninterrupted run's dropout masks.</summary>
    public long MicroBatch(long step, int micro) => unchecked(Seed * 1_000_003L + (step + 1) * 131L + micro);

    /// <summary>Seeds the shuffling cursor the classifier asks of a data source that can shuffle, for epoch
    /// <paramref name="epoch"/>.</summary>
    public int SourceShuffle(int epoch) => unchecked(Seed * 7919 + epoch);

    /// <summary>Seeds the masks of the pre-training sequence at <paramref name="position"/> of the stream in epoch
    /// <paramref name="epoch"/> (held-out sequences use epoch -1: the same masks at every evaluation).</summary>
    public int MlmMask(int epoch, long position) =>
        unchecked((int)(Seed * 0x9E3779B1L + (epoch + 1) * 0x85EBCA77L + position * 0xC2B2AE3DL));

    /// <summary>Seeds the shuffle buffer of the packed pre-training sequences of epoch <paramref name="epoch"/>.</summary>
    public int MlmOrder(int epoch) => unchecked(Seed * 31 + epoch + 17);
}
