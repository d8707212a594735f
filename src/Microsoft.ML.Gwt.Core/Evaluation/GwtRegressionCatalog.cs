using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML;

/// <summary>Adds <c>EvaluateSentenceSimilarity(...)</c> to <c>mlContext.Regression</c>: the STS metrics (Pearson and
/// Spearman correlation) that <c>mlContext.Regression.Evaluate</c> does not report.</summary>
public static class GwtRegressionCatalog
{
    /// <summary>
    /// Pearson and Spearman correlation, mean squared and absolute error of a scored sentence-similarity data view (the
    /// output of <c>GwtSentenceSimilarityTransformer.Transform</c>, or of any regressor), rows with a NaN label or score
    /// left out.
    /// </summary>
    /// <param name="catalog">The regression catalog.</param>
    /// <param name="data">The scored data.</param>
    /// <param name="labelColumnName">The gold score column (Single). Default "Label".</param>
    /// <param name="scoreColumnName">The predicted score column (Single). Default "Score".</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not a <c>Single</c> scalar; the message names it.</exception>
    public static GwtSentenceSimilarityMetrics EvaluateSentenceSimilarity(this RegressionCatalog catalog, IDataView data,
        string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return GwtSentenceSimilarityMetrics.Evaluate(data, labelColumnName, scoreColumnName);
    }
}
