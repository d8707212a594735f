using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// What the text regressors share (the sentence-similarity transformers: TorchSharp's
/// <c>GwtSentenceSimilarityTransformer</c> and ONNX Runtime's <c>GwtOnnxSentenceSimilarityTransformer</c>): one float
/// <c>Score</c> column per row (<see cref="RegressionScoreColumns"/>), the network's single output (Hugging Face's
/// <c>num_labels = 1</c> sequence-classification head, no activation), scored as <see cref="TextScoringTransformerBase"/>
/// scores, saved with checksummed parts. Only Microsoft.ML.Gwt's own regressors derive from it.
/// </summary>
public abstract class TextRegressorTransformerBase : TextScoringTransformerBase
{
    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    /// <param name="env">The ML.NET environment (a <see cref="MLContext"/>).</param>
    /// <param name="name">The host's name in ML.NET's messages.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="settings">Text columns, score column, truncation and batch size.</param>
    protected TextRegressorTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, TextRegressorSettings settings)
        : base(env, name, tokenizer, new TextScoringInput((settings ?? throw new ArgumentNullException(nameof(settings))).Sentence1,
            settings.Sentence2, settings.MaxSequenceLength, settings.ScoringBatchSize))
    {
        Scoring = settings;
    }

    /// <summary>Text columns, score column, truncation and batch size.</summary>
    protected internal TextRegressorSettings Scoring { get; }

    /// <inheritdoc />
    protected sealed override int OutputWidth => 1;

    /// <summary>The score of each sentence (pair), <c>ScoringBatchSize</c> rows per forward pass. A null text scores as an
    /// empty one.</summary>
    /// <param name="sentences1">The first sentences.</param>
    /// <param name="sentences2">The second sentences of a sentence-pair model (as many as <paramref name="sentences1"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="sentences2"/> has another count than <paramref name="sentences1"/>.</exception>
    public float[] Predict(IReadOnlyList<string?> sentences1, IReadOnlyList<string?>? sentences2 = null) =>
        PredictOutputs(sentences1, sentences2).Select(r => r[0]).ToArray();

    /// <summary>The column this model adds (the same description the trainer's <c>GetOutputSchema</c> uses).</summary>
    internal RegressionScoreColumns OutputColumns() => new(Scoring.ScoreColumn);

    private protected sealed override IScoreColumns Columns() => OutputColumns();

    private protected sealed override float[] Outputs(IReadOnlyList<EncodedText> encoded) => Scores(encoded);

    /// <summary>The score of each row of one batch of encoded rows (at least one): one forward pass. Thread-safe.</summary>
    protected abstract float[] Scores(IReadOnlyList<EncodedText> encoded);

    /// <summary>The entry's settings: <see cref="Scoring"/>, then what the model adds.</summary>
    protected override void WriteSettings(BinaryWriter w) => Scoring.Write(w);
}
