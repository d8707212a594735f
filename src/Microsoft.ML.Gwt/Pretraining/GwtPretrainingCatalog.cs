using Microsoft.ML.Gwt.Pretraining;

namespace Microsoft.ML;

/// <summary>Adds masked-language-model pre-training with GWT-Adam to <see cref="MLContext"/>.</summary>
public static class GwtPretrainingCatalog
{
    /// <summary>
    /// Creates a masked-language-model pre-trainer: <c>mlContext.GwtPretraining(options).Fit(data)</c> pre-trains an
    /// encoder on the text column of <c>data</c> and writes a Hugging Face checkpoint folder
    /// (<see cref="GwtPretrainingOptions.OutputFolder"/>) that the GWT classifier fine-tunes as <c>PretrainedModelPath</c>.
    /// </summary>
    /// <param name="mlContext">The context (its seed is the default seed; its log receives the progress).</param>
    /// <param name="options">The options; <see cref="GwtPretrainingOptions.OutputFolder"/> is required.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the exception names it).</exception>
    public static GwtPretrainer GwtPretraining(this MLContext mlContext, GwtPretrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new GwtPretrainer(mlContext, options);
    }
}
