using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained sentence-similarity model. <see cref="TextScoringTransformerBase.Transform"/> lazily adds a float
/// <c>Score</c> column (the regression head's output, Hugging Face's <c>num_labels = 1</c> logit, no activation), scoring
/// rows in batches in one pass over the input; it works with <c>PredictionEngine</c>, <c>mlContext.Regression.Evaluate</c>,
/// <c>mlContext.Regression.EvaluateSentenceSimilarity</c> (Pearson, Spearman) and <c>mlContext.Model.Save/Load</c> (the
/// model file holds the settings, config, tokenizer and weights, each checked against a SHA-256 on load). Scoring is
/// thread-safe.
/// </summary>
public sealed partial class GwtSentenceSimilarityTransformer : TextRegressorTransformerBase
{
    internal const string LoaderSignature = "GwtSentenceSimilarity";

    private readonly TorchScoringModel _scorer;

    /// <summary>The settings a model is saved with.</summary>
    internal sealed record Settings(TextRegressorSettings Common, GwtDevice Device, GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    internal GwtSentenceSimilarityTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, Settings settings,
        GwtTrainingResult? training = null)
        : base(env, nameof(GwtSentenceSimilarityTransformer), tokenizer, settings.Common)
    {
        if (model.NumClasses != 1)
        {
            throw new ArgumentException($"A sentence-similarity model has one output, not {model.NumClasses}.", nameof(model));
        }
        _scorer = new TorchScoringModel(Host, model, settings.Precision);
        Options = settings;
        TrainingResult = training;
    }

    /// <summary>The underlying TorchSharp module (encoder and its one-output sequence-classification head), in evaluation mode.</summary>
    public TextClassificationModel Model => _scorer.Model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => Model.Encoder.Config;

    /// <summary>What the training run did (losses; after each epoch the validation MSE in
    /// <see cref="GwtTrainingResult.ValidationLoss"/> and the validation Pearson correlation in
    /// <see cref="GwtTrainingResult.ValidationAccuracy"/>); null for a loaded model.</summary>
    public GwtTrainingResult? TrainingResult { get; }

    /// <summary>The device the model scores on now (see <see cref="GwtTextClassificationTransformer.Device"/>).</summary>
    public GwtDevice Device => _scorer.Device;

    /// <summary>The device the model was trained for, as saved in the model file.</summary>
    public GwtDevice SavedDevice => Options.Device;

    /// <summary>The precision scoring computes in: the one the training run asked for, saved with the model, unless set
    /// here; resolved on the machine that scores as <see cref="GwtTextClassificationTransformer.ScoringPrecision"/> is.
    /// Do not set it while rows are being scored on another thread.</summary>
    public GwtPrecision ScoringPrecision
    {
        get => _scorer.ScoringPrecision;
        set => _scorer.ScoringPrecision = value;
    }

    /// <summary>The compute type scoring uses on this machine and device now.</summary>
    internal ScalarType ScoringComputeType => _scorer.ScoringComputeType;

    internal Settings Options { get; }

    /// <summary>Moves the model to <paramref name="device"/> (<see cref="GwtDevice.Auto"/>: CUDA when present) for all
    /// later scoring. Do not call it while rows are being scored on another thread.</summary>
    /// <exception cref="InvalidOperationException"><see cref="GwtDevice.Cuda"/> is asked for but TorchSharp reports no CUDA device.</exception>
    public GwtSentenceSimilarityTransformer MoveTo(GwtDevice device)
    {
        _scorer.MoveTo(device);
        return this;
    }

    /// <summary>The score of each encoded row: the head's single logit (one forward pass on the model's device).</summary>
    protected override float[] Scores(IReadOnlyList<EncodedText> encoded) =>
        _scorer.Forward(encoded, Tokenizer.PadId, logits => logits.squeeze(-1));

    /// <summary>Releases the model's native memory.</summary>
    public override void Dispose() => _scorer.Dispose();
}
