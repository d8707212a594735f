using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained question-answering model. <see cref="QuestionAnswerTransformerBase.Transform"/> lazily adds the
/// <c>Answer</c> column (a vector of text: the top-k answers, best first, each a character span of the context) and the
/// <c>Score</c> column (their probabilities); it works with <c>PredictionEngine</c>,
/// <c>mlContext.MulticlassClassification.EvaluateQuestionAnswering</c> (SQuAD exact match and F1) and
/// <c>mlContext.Model.Save/Load</c> (settings, config, tokenizer and weights, each checked against a SHA-256 on load).
/// Scoring is thread-safe.
/// </summary>
public sealed partial class GwtQuestionAnswerTransformer : QuestionAnswerTransformerBase
{
    internal const string LoaderSignature = "GwtQuestionAnswer";

    private readonly TorchScoringModel _scorer;

    /// <summary>The settings a model is saved with.</summary>
    internal sealed record ModelSettings(QuestionAnswerSettings Common, GwtDevice Device, GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    internal GwtQuestionAnswerTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, ModelSettings settings,
        GwtTrainingResult? training = null)
        : base(env, nameof(GwtQuestionAnswerTransformer), tokenizer, settings.Common)
    {
        if (model.HeadKind != TextHeadKind.QuestionAnswering)
        {
            throw new ArgumentException("A question-answering model has the span head.", nameof(model));
        }
        _scorer = new TorchScoringModel(Host, model, settings.Precision);
        Options = settings;
        TrainingResult = training;
    }

    /// <summary>The underlying TorchSharp module (encoder and span head), in evaluation mode.</summary>
    public TextClassificationModel Model => _scorer.Model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => Model.Encoder.Config;

    /// <summary>What the training run did (losses; after each epoch the validation loss in
    /// <see cref="GwtTrainingResult.ValidationLoss"/> and the validation F1 (0–1) in
    /// <see cref="GwtTrainingResult.ValidationAccuracy"/>); null for a loaded model.</summary>
    public GwtTrainingResult? TrainingResult { get; }

    /// <summary>The device the model scores on now.</summary>
    public GwtDevice Device => _scorer.Device;

    /// <summary>The precision scoring computes in (see <see cref="GwtTextClassificationTransformer.ScoringPrecision"/>).</summary>
    public GwtPrecision ScoringPrecision
    {
        get => _scorer.ScoringPrecision;
        set => _scorer.ScoringPrecision = value;
    }

    internal ModelSettings Options { get; }

    /// <summary>Moves the model to <paramref name="device"/> for all later scoring.</summary>
    public GwtQuestionAnswerTransformer MoveTo(GwtDevice device)
    {
        _scorer.MoveTo(device);
        return this;
    }

    /// <summary>Each window's start and end logits, interleaved, at its real positions.</summary>
    protected override float[][] SpanLogits(IReadOnlyList<EncodedText> windows)
    {
        int padded = windows.Max(w => w.Ids.Length);
        var flat = _scorer.Forward(windows, Tokenizer.PadId, logits => logits);
        return windows.Select((w, b) => flat.AsSpan(b * padded * 2, w.Ids.Length * 2).ToArray()).ToArray();
    }

    /// <summary>Releases the model's native memory.</summary>
    public override void Dispose() => _scorer.Dispose();
}
