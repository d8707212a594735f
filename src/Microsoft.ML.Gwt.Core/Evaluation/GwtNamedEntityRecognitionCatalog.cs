using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML;

/// <summary>Adds <c>EvaluateNamedEntityRecognition(...)</c> to <c>mlContext.MulticlassClassification</c>: entity-level
/// precision, recall and F1 as seqeval and CoNLL's <c>conlleval</c> count them, per entity type too, and token accuracy.</summary>
public static class GwtNamedEntityRecognitionCatalog
{
    /// <summary>
    /// Entity-level metrics of a scored named-entity-recognition data view (the output of
    /// <c>GwtNamedEntityRecognitionTransformer.Transform</c>, or any data with true and predicted tag vectors); see
    /// <see cref="GwtNamedEntityRecognitionMetrics"/>.
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog.</param>
    /// <param name="data">The scored data.</param>
    /// <param name="labelColumnName">The true tags: a vector of keys, one per word, with the tag names as key values. Default "Label".</param>
    /// <param name="predictedLabelColumnName">The predicted tags, the same way. Default "PredictedLabel".</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of another type; the message names it.</exception>
    /// <exception cref="ArgumentException">A row's tag vectors differ in length (the message names the row), or a tag is not IOB2/IOBES.</exception>
    public static GwtNamedEntityRecognitionMetrics EvaluateNamedEntityRecognition(this MulticlassClassificationCatalog catalog, IDataView data,
        string labelColumnName = "Label", string predictedLabelColumnName = "PredictedLabel")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return GwtNamedEntityRecognitionMetrics.Evaluate(data, labelColumnName, predictedLabelColumnName);
    }
}
