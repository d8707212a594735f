using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Text classification as a <see cref="ITrainingObjective{TBatch}"/>: cross-entropy of the classifier's logits
/// against the labels, and validation loss and accuracy over the whole validation set after each epoch.</summary>
internal sealed class ClassificationObjective : ITrainingObjective<IReadOnlyList<(EncodedText Text, int Label)>>
{
    private readonly TextClassificationModel _model;
    private readonly int _padId;
    private readonly Device _device;
    private readonly Func<IEnumerable<IReadOnlyList<(EncodedText Text, int Label)>>>? _validation;
    private readonly Action _throwIfCancelled;

    /// <param name="model">The classifier.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="validation">One pass over the validation set in scoring batches (null: no validation).</param>
    /// <param name="throwIfCancelled">Throws when the run is cancelled.</param>
    public ClassificationObjective(TextClassificationModel model, int padId, Device device,
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, int Label)>>>? validation, Action throwIfCancelled)
    {
        _model = model;
        _padId = padId;
        _device = device;
        _validation = validation;
        _throwIfCancelled = throwIfCancelled;
    }

    /// <inheritdoc />
    public nn.Module Model => _model;

    /// <inheritdoc />
    public int Rows(IReadOnlyList<(EncodedText Text, int Label)> batch) => batch.Count;

    /// <inheritdoc />
    public Tensor Loss(IReadOnlyList<(EncodedText Text, int Label)> batch)
    {
        using var tokens = TokenBatch.Create(batch.Select(r => r.Text).ToList(), _padId, _device);
        using var labels = DeviceTensors.FromArray(batch.Select(r => (long)r.Label).ToArray(), _device);
        var logits = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
        return nn.functional.cross_entropy(logits, labels);
    }

    /// <inheritdoc />
    public EpochEvaluation? Evaluate(int epoch)
    {
        if (_validation is null)
        {
            return null;
        }
        _model.eval();
        double lossSum = 0;
        long correct = 0, rows = 0;
        using var noGrad = torch.no_grad();
        foreach (var chunk in _validation())
        {
            _throwIfCancelled();
            using var scope = torch.NewDisposeScope();
            using var tokens = TokenBatch.Create(chunk.Select(r => r.Text).ToList(), _padId, _device);
            var labels = DeviceTensors.FromArray(chunk.Select(r => (long)r.Label).ToArray(), _device);
            var logits = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            rows += chunk.Count;
        }
        if (rows == 0)
        {
            return null;
        }
        double loss = lossSum / rows, accuracy = (double)correct / rows;
        return new EpochEvaluation(loss, accuracy, $"validation loss {loss:F4}, accuracy {accuracy:P2} over {rows} rows");
    }
}
