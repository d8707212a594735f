using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>Masked language modelling as a <see cref="ITrainingObjective{TBatch}"/>: the loss of
/// <see cref="MaskedLanguageModel.Loss"/> on a batch of masked packed sequences, and the held-out loss (fixed masks)
/// after each epoch, whose score for the engine is its negative (lower loss is better).</summary>
internal sealed class MlmObjective : ITrainingObjective<MlmBatch>
{
    private readonly MaskedLanguageModel _model;
    private readonly int _padId;
    private readonly Device _device;
    private readonly IEnumerable<int[]>? _heldOut;
    private readonly MlmMasker _masker;
    private readonly int _batchSize;
    private readonly RunSeeds _seeds;
    private readonly Action _throwIfCancelled;

    public MlmObjective(MaskedLanguageModel model, int padId, Device device, IEnumerable<int[]>? heldOut, MlmMasker masker, int seed,
        int batchSize, Action throwIfCancelled)
    {
        _model = model;
        _padId = padId;
        _device = device;
        _heldOut = heldOut;
        _masker = masker;
        _seeds = new RunSeeds(seed);
        _batchSize = batchSize;
        _throwIfCancelled = throwIfCancelled;
    }

    /// <inheritdoc />
    public nn.Module Model => _model;

    /// <inheritdoc />
    public int Rows(MlmBatch batch) => batch.Sequences.Count;

    /// <inheritdoc />
    public Tensor Loss(MlmBatch batch)
    {
        var (ids, mask, labels) = Tensors(batch.Sequences, _padId, _device);
        using (ids)
        using (mask)
        using (labels)
        {
            return _model.Loss(ids, mask, labels);
        }
    }

    /// <inheritdoc />
    public EpochEvaluation? Evaluate(int epoch)
    {
        if (_heldOut is null)
        {
            return null;
        }
        var (loss, tokens) = HeldOutLoss();
        return new EpochEvaluation(loss, -loss, $"held-out MLM loss {loss:F4} (perplexity {Math.Exp(loss):F1}) over {tokens} masked tokens");
    }

    /// <summary>The mean loss over every masked token of the held-out sequences, with the same masks every time.</summary>
    internal (double Loss, long Tokens) HeldOutLoss()
    {
        _model.eval();
        double sum = 0;
        long count = 0;
        using var noGrad = torch.no_grad();
        var chunk = new List<MaskedSequence>(_batchSize);
        long position = 0;
        void Flush()
        {
            _throwIfCancelled();
            using var scope = torch.NewDisposeScope();
            var (ids, mask, labels) = Tensors(chunk, _padId, _device);
            long n = labels.ne(HeldScalars.IgnoreIndex).sum().item<long>();
            if (n > 0)
            {
                sum += _model.Loss(ids, mask, labels).item<float>() * (double)n;
                count += n;
            }
            chunk.Clear();
        }
        foreach (var sequence in _heldOut!)
        {
            chunk.Add(_masker.Mask(sequence, new Random(_seeds.MlmMask(-1, position++))));
            if (chunk.Count == _batchSize)
            {
                Flush();
            }
        }
        if (chunk.Count > 0)
        {
            Flush();
        }
        return (count == 0 ? double.NaN : sum / count, count);
    }

    /// <summary>Input ids, attention mask and labels of a batch, padded to its longest sequence.</summary>
    internal static (Tensor Ids, Tensor Mask, Tensor Labels) Tensors(IReadOnlyList<MaskedSequence> sequences, int padId, Device device)
    {
        int length = sequences.Max(s => s.InputIds.Length);
        var ids = new long[sequences.Count * length];
        var mask = new long[ids.Length];
        var labels = new long[ids.Length];
        Array.Fill(ids, padId);
        Array.Fill(labels, MlmMasker.Ignore);
        for (int r = 0; r < sequences.Count; r++)
        {
            var s = sequences[r];
            for (int i = 0; i < s.InputIds.Length; i++)
            {
                ids[r * length + i] = s.InputIds[i];
                mask[r * length + i] = 1;
                labels[r * length + i] = s.Labels[i];
            }
        }
        long[] shape = { sequences.Count, length };
        return (DeviceTensors.FromArray(ids, shape, device), DeviceTensors.FromArray(mask, shape, device), DeviceTensors.FromArray(labels, shape, device));
    }
}
