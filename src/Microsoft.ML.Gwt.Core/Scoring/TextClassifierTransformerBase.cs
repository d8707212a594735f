using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// What the two text classifiers share: <c>GwtTextClassificationTransformer</c> (TorchSharp) and
/// <c>GwtOnnxTextClassificationTransformer</c> (ONNX Runtime) add the same <c>Score</c> and <c>PredictedLabel</c>
/// columns, lazily and <c>ScoringBatchSize</c> rows per forward pass in <see cref="TextScoringTransformerBase.Transform"/>, row by row in a
/// <c>PredictionEngine</c>, and save the same way in <c>mlContext.Model.Save</c> (settings, then each part with a SHA-256,
/// read back under one error policy). The scoring itself is <see cref="TextScoringTransformerBase"/>'s, which the
/// regressors share. Only Microsoft.ML.Gwt's own classifiers derive from it.
/// </summary>
public abstract class TextClassifierTransformerBase : TextScoringTransformerBase
{
    /// <summary>The name of the label values' part in model files.</summary>
    protected const string LabelsPart = "Labels";

    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    /// <param name="env">The ML.NET environment (a <see cref="MLContext"/>).</param>
    /// <param name="name">The host's name in ML.NET's messages.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="settings">Text columns, output columns, truncation, batch size, classes and label values.</param>
    protected TextClassifierTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, TextClassifierSettings settings)
        : base(env, name, tokenizer, new TextScoringInput(settings.Sentence1, settings.Sentence2, settings.MaxSequenceLength, settings.ScoringBatchSize))
    {
        Scoring = settings;
    }

    /// <summary>The number of classes.</summary>
    public int NumClasses => Scoring.Classes;

    /// <summary>The label values in key order, as text, when the training label had key values.</summary>
    public IReadOnlyList<string>? LabelNames => Scoring.Labels?.ToText();

    /// <summary>Text columns, output columns, truncation, batch size, classes and label values.</summary>
    protected internal TextClassifierSettings Scoring { get; }

    /// <inheritdoc />
    protected sealed override int OutputWidth => NumClasses;

    /// <summary>Class probabilities (in key order) for texts and, for a sentence-pair model, their second sentences,
    /// scored <c>ScoringBatchSize</c> rows per forward pass. A null text scores as an empty one.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    public float[][] Predict(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null) => PredictOutputs(texts, second);

    /// <summary>The columns this model adds (the same description the trainer's <c>GetOutputSchema</c> uses).</summary>
    internal ScoreColumns OutputColumns() => ScoreColumns.ForModel(Scoring.ScoreColumn, Scoring.PredictedLabelColumn, NumClasses, Scoring.Labels);

    private protected sealed override IScoreColumns Columns() => OutputColumns();

    private protected sealed override float[] Outputs(IReadOnlyList<EncodedText> encoded) => Probabilities(encoded);

    /// <summary>Class probabilities of each row (one forward pass).</summary>
    internal float[][] ScoreBatch(IReadOnlyList<(string? First, string? Second)> rows) =>
        ((ITextClassifierScorer)this).ScoreEncoded(((ITextClassifierScorer)this).Encode(rows));

    /// <summary>The class probabilities of one batch of encoded rows (at least one), row after row: one forward pass.
    /// Thread-safe.</summary>
    protected abstract float[] Probabilities(IReadOnlyList<EncodedText> encoded);

    /// <summary>The entry's settings: <see cref="Scoring"/> (without the label values), then what the model adds.</summary>
    protected override void WriteSettings(BinaryWriter w) => Scoring.Write(w);

    /// <summary>Writes the parts both classifiers have: the tokenizer and the label values.</summary>
    protected void WriteTokenizerAndLabels(ModelPartWriter parts)
    {
        WriteTokenizer(parts);
        parts.Write(LabelsPart, bw =>
        {
            bw.Write(Scoring.Labels is not null);
            Scoring.Labels?.Save(bw);
        });
    }

    /// <summary>Reads what <see cref="WriteTokenizerAndLabels"/> wrote.</summary>
    protected static (TextTokenizer Tokenizer, LabelKeys? Labels) ReadTokenizerAndLabels(ModelPartReader parts, int classes) =>
        (ReadTokenizer(parts),
         parts.Read(LabelsPart, "label values", br => br.ReadBoolean() ? LabelKeys.Load(br, classes) : null));
}
