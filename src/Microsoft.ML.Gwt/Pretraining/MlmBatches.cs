using System.Security.Cryptography;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>A micro-batch of masked packed sequences.</summary>
internal sealed record MlmBatch(IReadOnlyList<MaskedSequence> Sequences);

/// <summary>
/// The pre-training data as the training engine reads it: each epoch streams the texts through a cursor, packs them
/// (<see cref="SequencePacker"/>), shuffles the packed sequences in a seeded buffer of the epoch, masks each one with a
/// generator seeded by the run's seed, the epoch and the sequence's position in the stream (so masks change every epoch
/// and a resumed run draws the same ones), and groups them into batches. A first pass at construction counts the
/// sequences (the schedule needs the number of batches) and hashes them (the checkpoint fingerprint); nothing
/// proportional to the data is held but the shuffle buffer.
/// </summary>
internal sealed class MlmBatches : IBatchStream<MlmBatch>
{
    private readonly IEnumerable<string> _texts;
    private readonly SequencePacker _packer;
    private readonly MlmMasker _masker;
    private readonly int _batchSize, _bufferSize;
    private readonly RunSeeds _seeds;

    public MlmBatches(IEnumerable<string> texts, SequencePacker packer, MlmMasker masker, int batchSize, int bufferSize, int seed)
    {
        _texts = texts;
        _packer = packer;
        _masker = masker;
        _batchSize = batchSize;
        _bufferSize = bufferSize;
        _seeds = new RunSeeds(seed);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var sequence in packer.Pack(texts))
        {
            Sequences++;
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sequence.AsSpan()));
            sha.AppendData(BitConverter.GetBytes(sequence.Length));
        }
        DataHash = Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>Packed sequences per epoch.</summary>
    public long Sequences { get; }

    /// <summary>SHA-256 of the packed token ids, in stream order.</summary>
    public string DataHash { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch => (int)((Sequences + _batchSize - 1) / _batchSize);

    /// <inheritdoc />
    public IEnumerable<MlmBatch> Epoch(int epoch, int skip)
    {
        var batch = new List<MaskedSequence>(_batchSize);
        int index = 0;
        foreach (var (position, sequence) in Shuffled(epoch))
        {
            if (index++ / _batchSize < skip)
            {
                continue; // a resumed run: these batches were trained before the checkpoint
            }
            batch.Add(_masker.Mask(sequence, new Random(_seeds.MlmMask(epoch, position))));
            if (batch.Count == _batchSize)
            {
                yield return new MlmBatch(batch);
                batch = new List<MaskedSequence>(_batchSize);
            }
        }
        if (batch.Count > 0)
        {
            yield return new MlmBatch(batch);
        }
    }

    /// <summary>The packed sequences with their stream positions, through a shuffle buffer seeded by the epoch.</summary>
    private IEnumerable<(long Position, int[] Sequence)> Shuffled(int epoch)
    {
        var random = new Random(_seeds.MlmOrder(epoch));
        var buffer = new List<(long, int[])>(_bufferSize);
        long position = 0;
        foreach (var sequence in _packer.Pack(_texts))
        {
            if (buffer.Count < _bufferSize)
            {
                buffer.Add((position++, sequence));
                continue;
            }
            int pick = random.Next(buffer.Count);
            yield return buffer[pick];
            buffer[pick] = (position++, sequence);
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer));
        foreach (var item in buffer)
        {
            yield return item;
        }
    }
}
