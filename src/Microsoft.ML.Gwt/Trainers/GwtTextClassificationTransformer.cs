using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained text classifier. <see cref="TextScoringTransformerBase.Transform"/> lazily adds a <c>Score</c> column
/// (a vector of class probabilities) and a <c>PredictedLabel</c> key column (whose key values are the training label's, in
/// the label's own type), scoring rows in batches in one pass over the input; it works with <c>PredictionEngine</c>,
/// <c>mlContext.MulticlassClassification.Evaluate</c> and <c>mlContext.Model.Save/Load</c> (the model file holds the
/// settings, config, tokenizer, label values and weights, each checked against a SHA-256 on load). Scoring is
/// thread-safe.
/// </summary>
public sealed partial class GwtTextClassificationTransformer : TextClassifierTransformerBase
{
    internal const string LoaderSignature = "GwtTextClassifierExec";

    private readonly TorchScoringModel _scorer;

    internal sealed record Settings(string Sentence1, string? Sentence2, string ScoreColumn, string PredictedLabelColumn,
        int MaxSequenceLength, int ScoringBatchSize, LabelKeys? Labels, GwtDevice Device,
        GwtPrecision Precision = GwtPrecision.Float32, bool BFloat16Weights = false);

    internal GwtTextClassificationTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, Settings settings,
        GwtTrainingResult? training = null)
        : base(env, nameof(GwtTextClassificationTransformer), tokenizer, new TextClassifierSettings(settings.Sentence1, settings.Sentence2,
            settings.ScoreColumn, settings.PredictedLabelColumn, settings.MaxSequenceLength, settings.ScoringBatchSize, model.NumClasses, settings.Labels))
    {
        _scorer = new TorchScoringModel(Host, model, settings.Precision);
        Options = settings;
        TrainingResult = training;
    }

    /// <summary>The underlying TorchSharp module (encoder and classification head), in evaluation mode.</summary>
    public TextClassificationModel Model => _scorer.Model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => Model.Encoder.Config;

    /// <summary>What the training run did (losses, validation, timing); null for a loaded model.</summary>
    public GwtTrainingResult? TrainingResult { get; }

    /// <summary>The device the model scores on now: <see cref="GwtDevice.Cpu"/> or <see cref="GwtDevice.Cuda"/>. A
    /// loaded model starts on the device it was trained for (<see cref="GwtTextTrainerOptions.Device"/>),
    /// or on the CPU when that was CUDA and no CUDA device is present; <see cref="MoveTo"/> changes it.</summary>
    public GwtDevice Device => _scorer.Device;

    /// <summary>The device the model was trained for, as saved in the model file.</summary>
    public GwtDevice SavedDevice => Options.Device;

    internal Settings Options { get; }

    /// <summary>Moves the model to <paramref name="device"/> (<see cref="GwtDevice.Auto"/>: CUDA when present) for all
    /// later scoring. Do not call it while rows are being scored on another thread.</summary>
    /// <exception cref="InvalidOperationException"><see cref="GwtDevice.Cuda"/> is asked for but TorchSharp reports no CUDA device.</exception>
    public GwtTextClassificationTransformer MoveTo(GwtDevice device)
    {
        _scorer.MoveTo(device);
        return this;
    }

    /// <summary>Class probabilities of each encoded row (one forward pass on the model's device).</summary>
    protected override float[] Probabilities(IReadOnlyList<EncodedText> encoded) =>
        _scorer.Forward(encoded, Tokenizer.PadId, logits => logits.softmax(1));

    /// <summary>Releases the model's native memory.</summary>
    public override void Dispose() => _scorer.Dispose();
}
