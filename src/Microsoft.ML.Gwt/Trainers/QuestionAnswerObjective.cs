using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Extractive question answering as a <see cref="ITrainingObjective{TBatch}"/>: Hugging Face's
/// <c>*ForQuestionAnswering</c> loss, the mean of the start and end positions' cross-entropies over the window's
/// positions (positions clamped to the padded length and ignored there, as its <c>ignored_index</c>); after each epoch,
/// the validation rows answered as at scoring time and counted as SQuAD counts them (exact match and F1; F1 is the score
/// early stopping maximizes), with the mean window loss as the loss.
/// </summary>
internal sealed class QuestionAnswerObjective : ITrainingObjective<IReadOnlyList<QuestionAnswerExample>>
{
    private readonly TextClassificationModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly QuestionAnswerLayout _layout;
    private readonly Device _device;
    private readonly IReadOnlyList<QuestionAnswerRow>? _validation;
    private readonly int _scoringBatchSize;
    private readonly Action _throwIfCancelled;

    public QuestionAnswerObjective(TextClassificationModel model, TextTokenizer tokenizer, QuestionAnswerLayout layout, Device device,
        IReadOnlyList<QuestionAnswerRow>? validation, int scoringBatchSize, Action throwIfCancelled)
    {
        if (model.HeadKind != TextHeadKind.QuestionAnswering)
        {
            throw new ArgumentException("A question-answering objective needs a model with the span head.", nameof(model));
        }
        _model = model;
        _tokenizer = tokenizer;
        _layout = layout;
        _device = device;
        _validation = validation;
        _scoringBatchSize = scoringBatchSize;
        _throwIfCancelled = throwIfCancelled;
    }

    /// <inheritdoc />
    public nn.Module Model => _model;

    /// <inheritdoc />
    public int Rows(IReadOnlyList<QuestionAnswerExample> batch) => batch.Count;

    /// <inheritdoc />
    public Tensor Loss(IReadOnlyList<QuestionAnswerExample> batch)
    {
        using var scope = torch.NewDisposeScope();
        var logits = Logits(batch.Select(e => e.Text).ToList());
        return SpanLoss(logits, batch.Select(e => (long)e.StartPosition).ToArray(), batch.Select(e => (long)e.EndPosition).ToArray(), _device)
            .MoveToOuterDisposeScope();
    }

    /// <summary>Hugging Face's question-answering loss on logits <c>[batch, seq, 2]</c>: positions clamped to
    /// <c>[0, seq]</c>, <c>seq</c> ignored, the mean of the start and end cross-entropies.</summary>
    internal static Tensor SpanLoss(Tensor logits, long[] starts, long[] ends, Device device)
    {
        using var scope = torch.NewDisposeScope();
        long length = logits.shape[1];
        var startLogits = logits.select(-1, 0);
        var endLogits = logits.select(-1, 1);
        var s = torch.tensor(starts.Select(p => Math.Clamp(p, 0, length)).ToArray(), device: device);
        var e = torch.tensor(ends.Select(p => Math.Clamp(p, 0, length)).ToArray(), device: device);
        var startLoss = nn.functional.cross_entropy(startLogits, s, ignore_index: length);
        var endLoss = nn.functional.cross_entropy(endLogits, e, ignore_index: length);
        return torch.stack(new[] { startLoss, endLoss }).mean().MoveToOuterDisposeScope();
    }

    private Tensor Logits(IReadOnlyList<EncodedText> texts)
    {
        using var tokens = TokenBatch.Create(texts, _tokenizer.PadId, _device);
        return _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
    }

    /// <inheritdoc />
    public EpochEvaluation? Evaluate(int epoch)
    {
        if (_validation is not { Count: > 0 } rows)
        {
            return null;
        }
        _model.eval();
        using var noGrad = torch.no_grad();
        var predictions = new List<string?>();
        var gold = new List<IReadOnlyList<string>>();
        double lossSum = 0;
        long lossWindows = 0;
        foreach (var row in rows)
        {
            _throwIfCancelled();
            using var scope = torch.NewDisposeScope();
            var words = ContextWords.Split(row.Context);
            var answer = QuestionAnswerData.AnswerWords(words, row);
            var windows = QuestionAnswerWindows.Encode(_tokenizer, words, row.Question, _layout, answer);
            var spans = new List<(int[] WordIndex, float[] Start, float[] End)>();
            foreach (var chunk in windows.Chunk(_scoringBatchSize))
            {
                var logits = Logits(chunk.Select(w => w.Text).ToList());
                if (answer is not null)
                {
                    lossSum += SpanLoss(logits, chunk.Select(w => (long)w.StartPosition).ToArray(), chunk.Select(w => (long)w.EndPosition).ToArray(), _device)
                        .item<float>() * chunk.Length;
                    lossWindows += chunk.Length;
                }
                long length = logits.shape[1];
                var flat = logits.cpu().data<float>().ToArray();
                for (int b = 0; b < chunk.Length; b++)
                {
                    int n = chunk[b].WordIndex.Length;
                    var start = new float[n];
                    var end = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        start[i] = flat[(b * length + i) * 2];
                        end[i] = flat[(b * length + i) * 2 + 1];
                    }
                    spans.Add((chunk[b].WordIndex, start, end));
                }
            }
            var best = AnswerSpans.Decode(words, spans, 1, _layout.MaxAnswerTokens);
            predictions.Add(best.Length == 0 ? null : best[0].Text);
            gold.Add(new[] { row.Answer });
        }
        var metrics = GwtQuestionAnsweringMetrics.Compute(predictions, gold);
        double loss = lossWindows == 0 ? double.NaN : lossSum / lossWindows;
        return new EpochEvaluation(loss, metrics.F1 / 100,
            $"validation loss {loss:F4}, exact match {metrics.ExactMatch:F2}, F1 {metrics.F1:F2} over {metrics.Rows} questions");
    }
}
