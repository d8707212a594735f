using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Sentence similarity (regression) as a <see cref="ITrainingObjective{TBatch}"/>: Hugging Face's
/// <c>problem_type</c> "regression" loss for <c>num_labels = 1</c>, the mean squared error of <c>logits.squeeze(-1)</c>
/// against the float labels; after each epoch, the validation MSE (the loss) and the Pearson correlation (the score early
/// stopping maximizes, the STS convention), with Spearman's in the log.</summary>
internal sealed class RegressionObjective : TextObjective<float>
{
    /// <param name="model">The regression model (one output).</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="validation">One pass over the validation set in scoring batches (null: no validation).</param>
    /// <param name="throwIfCancelled">Throws when the run is cancelled.</param>
    public RegressionObjective(TextClassificationModel model, int padId, Device device,
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, float Label)>>>? validation, Action throwIfCancelled)
        : base(model, padId, device, validation, throwIfCancelled)
    {
        if (model.NumClasses != 1)
        {
            throw new ArgumentException($"A regression objective needs a model with one output, not {model.NumClasses}.", nameof(model));
        }
    }

    /// <inheritdoc />
    public override Tensor Loss(IReadOnlyList<(EncodedText Text, float Label)> batch)
    {
        using var labels = DeviceTensors.FromArray(batch.Select(r => r.Label).ToArray(), Device);
        using var logits = Logits(batch);
        using var predictions = logits.squeeze(-1);
        return nn.functional.mse_loss(predictions, labels);
    }

    /// <inheritdoc />
    public override EpochEvaluation? Evaluate(int epoch)
    {
        var predicted = new List<float>();
        var actual = new List<float>();
        bool validated = ForEachValidationChunk((chunk, logits) =>
        {
            predicted.AddRange(logits.squeeze(-1).cpu().data<float>().ToArray());
            actual.AddRange(chunk.Select(r => r.Label));
        });
        if (!validated || predicted.Count == 0)
        {
            return null;
        }
        var metrics = GwtSentenceSimilarityMetrics.Compute(actual, predicted);
        // Constant predictions have no correlation (NaN): they score 0, as uncorrelated ones, so a later epoch can beat them.
        double score = double.IsNaN(metrics.PearsonCorrelation) ? 0 : metrics.PearsonCorrelation;
        return new EpochEvaluation(metrics.MeanSquaredError, score,
            $"validation MSE {metrics.MeanSquaredError:F4}, Pearson {metrics.PearsonCorrelation:F4}, Spearman {metrics.SpearmanCorrelation:F4} over {metrics.Rows} rows");
    }
}
