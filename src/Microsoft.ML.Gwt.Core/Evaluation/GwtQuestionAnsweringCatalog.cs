using Microsoft.ML.Gwt.Core.Evaluation;

namespace Microsoft.ML;

/// <summary>Adds <c>EvaluateQuestionAnswering(...)</c> to <c>mlContext.MulticlassClassification</c> (where the
/// question-answering trainer is): SQuAD v1.1's exact match and F1.</summary>
public static class GwtQuestionAnsweringCatalog
{
    /// <summary>Exact match and F1 (percent, as SQuAD v1.1's evaluate script counts them) of a scored data view: the
    /// best predicted answer (the first of the answer vector) against the gold answer (a text, or a vector of texts of
    /// which the best match counts).</summary>
    /// <param name="catalog">The multiclass classification catalog.</param>
    /// <param name="data">The scored data (the output of <c>GwtQuestionAnswerTransformer.Transform</c>).</param>
    /// <param name="trainingAnswerColumnName">The gold answer column. Default "TrainingAnswer".</param>
    /// <param name="predictedAnswerColumnName">The predicted answers column. Default "Answer".</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not text; the message names it.</exception>
    public static GwtQuestionAnsweringMetrics EvaluateQuestionAnswering(this MulticlassClassificationCatalog catalog, IDataView data,
        string trainingAnswerColumnName = "TrainingAnswer", string predictedAnswerColumnName = "Answer")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return GwtQuestionAnsweringMetrics.Evaluate(data, trainingAnswerColumnName, predictedAnswerColumnName);
    }
}
