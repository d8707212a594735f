using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Token classification (named entity recognition) as a <see cref="ITrainingObjective{TBatch}"/>: Hugging
/// Face's <c>*ForTokenClassification</c> loss, the cross-entropy of every position's tag logits against the per-position
/// labels, positions labelled <see cref="WordAlignment.Ignore"/> (special tokens, later sub-tokens of a word, padding)
/// left out; after each epoch, the validation loss and the entity-level F1 (seqeval's default counting) of the words the
/// validation encodings keep, or their tag accuracy when the tags are not IOB2/IOBES.</summary>
internal sealed class TokenClassificationObjective : TextObjective<int[]>
{
    private readonly IReadOnlyList<string> _tagNames;

    /// <param name="model">The token classifier.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="tagNames">The tags' names in key order (for the entity F1).</param>
    /// <param name="validation">One pass over the validation set in scoring batches (null: no validation).</param>
    /// <param name="throwIfCancelled">Throws when the run is cancelled.</param>
    public TokenClassificationObjective(TextClassificationModel model, int padId, Device device, IReadOnlyList<string> tagNames,
        Func<IEnumerable<IReadOnlyList<(EncodedText Text, int[] Label)>>>? validation, Action throwIfCancelled)
        : base(model, padId, device, validation, throwIfCancelled)
    {
        if (model.HeadKind != TextHeadKind.TokenClassification)
        {
            throw new ArgumentException("A token-classification objective needs a token classifier.", nameof(model));
        }
        _tagNames = tagNames;
    }

    /// <summary>Hugging Face's token-classification loss: mean cross-entropy over the positions whose label is not
    /// <see cref="WordAlignment.Ignore"/>, of <paramref name="logits"/> <c>[batch, tokens, tags]</c> against
    /// <paramref name="labels"/> <c>[batch, tokens]</c>.</summary>
    internal static Tensor TokenLoss(Tensor logits, Tensor labels, nn.Reduction reduction = nn.Reduction.Mean)
    {
        using var flat = logits.reshape(-1, logits.shape[^1]);
        using var targets = labels.reshape(-1);
        return nn.functional.cross_entropy(flat, targets, ignore_index: WordAlignment.Ignore, reduction: reduction);
    }

    /// <summary>The batch's per-position labels, padded with <see cref="WordAlignment.Ignore"/> to the longest row.</summary>
    private Tensor Labels(IReadOnlyList<(EncodedText Text, int[] Label)> batch)
    {
        int width = Math.Max(1, batch.Max(r => r.Text.Ids.Length));
        var labels = new long[batch.Count * width];
        Array.Fill(labels, WordAlignment.Ignore);
        for (int r = 0; r < batch.Count; r++)
        {
            for (int t = 0; t < batch[r].Label.Length; t++)
            {
                labels[r * width + t] = batch[r].Label[t];
            }
        }
        return DeviceTensors.FromArray(labels, new long[] { batch.Count, width }, Device);
    }

    /// <inheritdoc />
    public override Tensor Loss(IReadOnlyList<(EncodedText Text, int[] Label)> batch)
    {
        using var labels = Labels(batch);
        using var logits = Logits(batch);
        return TokenLoss(logits, labels);
    }

    /// <inheritdoc />
    public override EpochEvaluation? Evaluate(int epoch)
    {
        double lossSum = 0;
        long positions = 0;
        var truth = new List<IReadOnlyList<string>>();
        var predicted = new List<IReadOnlyList<string>>();
        bool validated = ForEachValidationChunk((chunk, logits) =>
        {
            var labels = Labels(chunk);
            lossSum += TokenLoss(logits, labels, nn.Reduction.Sum).item<float>();
            var best = logits.argmax(-1).cpu().data<long>().ToArray();
            int width = (int)logits.shape[1];
            for (int r = 0; r < chunk.Count; r++)
            {
                var t = new List<string>();
                var p = new List<string>();
                for (int i = 0; i < chunk[r].Label.Length; i++)
                {
                    if (chunk[r].Label[i] != WordAlignment.Ignore)
                    {
                        t.Add(_tagNames[chunk[r].Label[i]]);
                        p.Add(_tagNames[(int)best[r * width + i]]);
                    }
                }
                positions += t.Count;
                truth.Add(t);
                predicted.Add(p);
            }
        });
        if (!validated || positions == 0)
        {
            return null;
        }
        double loss = lossSum / positions;
        double accuracy = truth.SelectMany(s => s).Zip(predicted.SelectMany(s => s), (a, b) => a == b ? 1.0 : 0.0).Sum() / positions;
        if (!_tagNames.All(IsIobTag))
        {
            return new EpochEvaluation(loss, accuracy, $"validation loss {loss:F4}, tag accuracy {accuracy:P2} over {positions} words (tags not IOB2: no entity F1)");
        }
        var m = GwtNamedEntityRecognitionMetrics.Compute(truth, predicted);
        return new EpochEvaluation(loss, m.F1, $"validation loss {loss:F4}, entity F1 {m.F1:F4} (P {m.Precision:F4}, R {m.Recall:F4}), tag accuracy {accuracy:P2} over {positions} words");
    }

    /// <summary>Whether <paramref name="tag"/> is O or a B-, I-, E- or S- tag.</summary>
    internal static bool IsIobTag(string tag) =>
        tag is "O" or "B" or "I" or "E" or "S" || (tag.Length >= 2 && tag[1] == '-' && tag[0] is 'B' or 'I' or 'E' or 'S');
}
