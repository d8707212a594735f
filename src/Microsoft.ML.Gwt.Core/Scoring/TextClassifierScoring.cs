using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>The <c>Predict</c> of the scoring transformers (classifiers and regressors, TorchSharp and ONNX Runtime):
/// texts in, outputs out, <see cref="ITextClassifierScorer.ScoringBatchSize"/> rows per forward pass.</summary>
internal static class TextClassifierScoring
{
    /// <summary>Class probabilities (in key order) of each text and, for a sentence-pair model, its second sentence.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    public static float[][] Predict(ITextClassifierScorer scorer, IReadOnlyList<string?> texts, IReadOnlyList<string?>? second)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (second is not null && second.Count != texts.Count)
        {
            throw new ArgumentException($"{nameof(second)} has {second.Count} sentences but {nameof(texts)} has {texts.Count}.", nameof(second));
        }
        var result = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += scorer.ScoringBatchSize)
        {
            int n = Math.Min(scorer.ScoringBatchSize, texts.Count - start);
            EncodedText[] encoded = scorer.Encode(Enumerable.Range(start, n).Select(i => (texts[i], second?[i])).ToList());
            Array.Copy(scorer.ScoreEncoded(encoded), 0, result, start, n);
        }
        return result;
    }
}
