using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>An evaluation after an epoch.</summary>
/// <param name="Loss">The evaluation loss.</param>
/// <param name="Score">What early stopping maximizes (higher is better; the classifier's is validation accuracy).</param>
/// <param name="Summary">A line for the log, e.g. "validation loss 0.4, accuracy 91% over 200 rows".</param>
internal sealed record EpochEvaluation(double Loss, double Score, string Summary);

/// <summary>
/// The task's part of a run, plugged into <see cref="TrainingEngine{TBatch}"/>: the model, its loss on a batch, and an
/// evaluation after each epoch. The engine owns everything else (epochs, schedule, accumulation, clipping, the
/// non-finite policy, checkpoints and resume, progress). Classification is <c>ClassificationObjective</c>.
/// </summary>
/// <typeparam name="TBatch">One micro-batch as the data stream yields it.</typeparam>
internal interface ITrainingObjective<TBatch>
{
    /// <summary>The model being trained; the optimizer holds its trainable parameters.</summary>
    nn.Module Model { get; }

    /// <summary>Examples in <paramref name="batch"/>. A micro-batch's mean loss is weighted by its share of the
    /// step's examples, so a step's gradient is that of the mean loss over all its examples.</summary>
    int Rows(TBatch batch);

    /// <summary>Forward pass of one micro-batch in train mode: the mean loss over its examples, a scalar tensor with
    /// its autograd graph. Called inside the step's dispose scope; the engine scales it and calls backward.</summary>
    Tensor Loss(TBatch batch);

    /// <summary>Evaluates after epoch <paramref name="epoch"/> (0-based); null when the run has nothing to evaluate
    /// on. The engine puts the model back in train mode afterwards.</summary>
    EpochEvaluation? Evaluate(int epoch);
}
