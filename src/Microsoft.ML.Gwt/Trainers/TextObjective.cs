using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>What the text tasks' objectives share: the model over encoded texts with one label each, the forward pass of a
/// batch, and one pass over the validation set (evaluation mode, no gradients, a cancellation check and a dispose scope
/// per chunk). The classifier's and the regressor's objectives add their loss and their metrics.</summary>
/// <typeparam name="TLabel">The label of one example (a class index, a float target).</typeparam>
internal abstract class TextObjective<TLabel> : ITrainingObjective<IReadOnlyList<(EncodedText Text, TLabel Label)>>
{
    private readonly int _padId;
    private readonly Device _device;
    private readonly Func<IEnumerable<IReadOnlyList<(EncodedText Text, TLabel Label)>>>? _validation;
    private readonly Action _throwIfCancelled;

    /// <param name="model">The model.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="validation">One pass over the validation set in scoring batches (null: no validation).</param>
    /// <param name="throwIfCancelled">Throws when the run is cancelled.</param>
    protected TextObjective(TextClassificationModel model, int padId, Device device,
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, TLabel Label)>>>? validation, Action throwIfCancelled)
    {
        TaskModel = model;
        _padId = padId;
        _device = device;
        _validation = validation;
        _throwIfCancelled = throwIfCancelled;
    }

    /// <summary>The model being trained.</summary>
    protected TextClassificationModel TaskModel { get; }

    /// <summary>Where the model runs.</summary>
    protected Device Device => _device;

    /// <inheritdoc />
    public nn.Module Model => TaskModel;

    /// <inheritdoc />
    public int Rows(IReadOnlyList<(EncodedText Text, TLabel Label)> batch) => batch.Count;

    /// <inheritdoc />
    public abstract Tensor Loss(IReadOnlyList<(EncodedText Text, TLabel Label)> batch);

    /// <inheritdoc />
    public abstract EpochEvaluation? Evaluate(int epoch);

    /// <summary>The model's logits for the batch's texts, padded to its longest row.</summary>
    protected Tensor Logits(IReadOnlyList<(EncodedText Text, TLabel Label)> batch)
    {
        using var tokens = TokenBatch.Create(batch.Select(r => r.Text).ToList(), _padId, _device);
        return TaskModel.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
    }

    /// <summary>One pass over the validation set: each chunk with its logits, in evaluation mode without gradients,
    /// inside a dispose scope of its own. False when the run has no validation set.</summary>
    protected bool ForEachValidationChunk(Action<IReadOnlyList<(EncodedText Text, TLabel Label)>, Tensor> consume)
    {
        if (_validation is null)
        {
            return false;
        }
        TaskModel.eval();
        using var noGrad = torch.no_grad();
        foreach (var chunk in _validation())
        {
            _throwIfCancelled();
            using var scope = torch.NewDisposeScope();
            consume(chunk, Logits(chunk));
        }
        return true;
    }
}
