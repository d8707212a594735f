using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Text classification as a <see cref="ITrainingObjective{TBatch}"/>: cross-entropy of the classifier's logits
/// against the labels, and validation loss and accuracy over the whole validation set after each epoch.</summary>
internal sealed class ClassificationObjective : TextObjective<int>
{
    /// <param name="model">The classifier.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="validation">One pass over the validation set in scoring batches (null: no validation).</param>
    /// <param name="throwIfCancelled">Throws when the run is cancelled.</param>
    public ClassificationObjective(TextClassificationModel model, int padId, Device device,
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, int Label)>>>? validation, Action throwIfCancelled)
        : base(model, padId, device, validation, throwIfCancelled)
    {
    }

    /// <inheritdoc />
    public override Tensor Loss(IReadOnlyList<(EncodedText Text, int Label)> batch)
    {
        using var labels = DeviceTensors.FromArray(batch.Select(r => (long)r.Label).ToArray(), Device);
        var logits = Logits(batch);
        return nn.functional.cross_entropy(logits, labels);
    }

    /// <inheritdoc />
    public override EpochEvaluation? Evaluate(int epoch)
    {
        double lossSum = 0;
        long correct = 0, rows = 0;
        bool validated = ForEachValidationChunk((chunk, logits) =>
        {
            var labels = DeviceTensors.FromArray(chunk.Select(r => (long)r.Label).ToArray(), Device);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            rows += chunk.Count;
        });
        if (!validated || rows == 0)
        {
            return null;
        }
        double loss = lossSum / rows, accuracy = (double)correct / rows;
        return new EpochEvaluation(loss, accuracy, $"validation loss {loss:F4}, accuracy {accuracy:P2} over {rows} rows");
    }
}
