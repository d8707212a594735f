using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained named-entity-recognition model. <see cref="TextScoringTransformerBase.Transform"/> lazily adds a vector of
/// tag keys, one per whitespace-separated word of the text column, with the label's key values (so
/// <c>MapKeyToValue</c> gives the tags back), scoring rows in batches in one pass over the input: each word gets the tag
/// whose logit is largest at its first sub-token; a word without a token (cut by <c>MaxSequenceLength</c>, or text the
/// tokenizer drops) gets the training data's most frequent tag. It works with <c>PredictionEngine</c>,
/// <c>mlContext.MulticlassClassification.EvaluateNamedEntityRecognition</c> and <c>mlContext.Model.Save/Load</c> (the
/// model file holds the settings and tags, config, tokenizer and weights, each checked against a SHA-256 on load).
/// Scoring is thread-safe.
/// </summary>
public sealed partial class GwtNamedEntityRecognitionTransformer : TokenClassifierTransformerBase
{
    internal const string LoaderSignature = "GwtNerTagger"; // ML.NET keeps loader signatures under 24 characters

    private readonly TorchScoringModel _scorer;

    /// <summary>The settings a model is saved with.</summary>
    internal sealed record Settings(TokenClassifierSettings Common, GwtDevice Device, GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    internal GwtNamedEntityRecognitionTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, Settings settings,
        GwtTrainingResult? training = null)
        : base(env, nameof(GwtNamedEntityRecognitionTransformer), tokenizer, settings.Common)
    {
        if (model.HeadKind != TextHeadKind.TokenClassification || model.NumClasses != settings.Common.Tags.Count)
        {
            throw new ArgumentException($"A named-entity-recognition model is a token classifier with one output per tag ({settings.Common.Tags.Count}).", nameof(model));
        }
        _scorer = new TorchScoringModel(Host, model, settings.Precision);
        Options = settings;
        TrainingResult = training;
    }

    /// <summary>The underlying TorchSharp module (encoder and token-classification head), in evaluation mode.</summary>
    public TextClassificationModel Model => _scorer.Model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => Model.Encoder.Config;

    /// <summary>What the training run did (losses; after each epoch the validation loss in
    /// <see cref="GwtTrainingResult.ValidationLoss"/> and the validation entity F1 in
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

    internal Settings Options { get; }

    /// <summary>Moves the model to <paramref name="device"/> for all later scoring.</summary>
    public GwtNamedEntityRecognitionTransformer MoveTo(GwtDevice device)
    {
        _scorer.MoveTo(device);
        return this;
    }

    /// <summary>The tag logits of each encoded row at every position (one forward pass on the model's device).</summary>
    protected override float[] TokenLogits(IReadOnlyList<EncodedText> encoded) =>
        _scorer.Forward(encoded, Tokenizer.PadId, logits => logits);

    /// <summary>Releases the model's native memory.</summary>
    public override void Dispose() => _scorer.Dispose();
}
