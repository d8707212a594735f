using System.Globalization;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>A text trainer's training fingerprint (the classifier's, and with a task field the other tasks'): the training and validation rows (their count and the SHA-256 of their
/// labels and texts, in order, from <see cref="TextDataScan"/>) and every option that changes the weights.</summary>
internal static class ClassifierFingerprint
{
    public static TrainingFingerprint Of(GwtTextTrainerOptions o, int seed, int numClasses, double peakLearningRate,
        IReadOnlyList<string> gwtTargets, TextDataScan train, TextDataScan? validation, bool sourceShuffling,
        TorchSharp.torch.ScalarType computeType = TorchSharp.torch.ScalarType.Float32, string? task = null)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["TrainingData"] = $"{train.Rows} rows, SHA-256 {train.Sha256}",
            ["ValidationData"] = validation is null ? "none" : $"{validation.Rows} rows, SHA-256 {validation.Sha256}",
            ["NumClasses"] = numClasses.ToString(CultureInfo.InvariantCulture),
            ["Model"] = o.PretrainedModelPath is null ? $"{o.ModelSize} from scratch, vocabulary <= {o.MaxVocabularySize}{VocabularySample(o, train)}" : Path.GetFullPath(o.PretrainedModelPath),
            [nameof(o.Seed)] = seed.ToString(CultureInfo.InvariantCulture),
            [nameof(o.BatchSize)] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
            [nameof(o.MaxEpochs)] = o.MaxEpochs.ToString(CultureInfo.InvariantCulture),
            [nameof(o.MaxSequenceLength)] = o.MaxSequenceLength.ToString(CultureInfo.InvariantCulture),
            [nameof(o.LearningRate)] = F(peakLearningRate),
            [nameof(o.WarmupFraction)] = F(o.WarmupFraction),
            [nameof(o.WeightDecay)] = F(o.WeightDecay),
            [nameof(o.Optimizer)] = o.Optimizer.ToString(),
            [nameof(o.GwtLevel)] = o.GwtLevel.ToString(CultureInfo.InvariantCulture),
            [nameof(o.GwtAlpha)] = F(o.GwtAlpha),
            [nameof(o.GwtNormGrowthLimiter)] = o.GwtNormGrowthLimiter.ToString(),
            [nameof(o.GwtTargetSelector)] = gwtTargets.Count == 0 ? "none" : string.Join(",", gwtTargets),
            [nameof(o.GradientClipNorm)] = F(o.GradientClipNorm),
            [nameof(o.GradientAccumulationSteps)] = o.GradientAccumulationSteps.ToString(CultureInfo.InvariantCulture),
            [nameof(o.EarlyStoppingPatience)] = o.EarlyStoppingPatience.ToString(CultureInfo.InvariantCulture),
            [nameof(o.NonFiniteStep)] = o.NonFiniteStep.ToString(),
            [nameof(o.ShuffleBufferSize)] = o.ShuffleBufferSize.ToString(CultureInfo.InvariantCulture),
            ["SourceShuffling"] = sourceShuffling.ToString(),
            [nameof(o.GroupByLength)] = o.GroupByLength.ToString(),
            [nameof(o.LengthGroupingWindow)] = o.GroupByLength ? o.LengthGroupingWindow.ToString(CultureInfo.InvariantCulture) : "unused",
        };
        if (computeType != TorchSharp.torch.ScalarType.Float32)
        {
            // Only low precisions add the field, so float32 checkpoints written before it existed still resume.
            fields[nameof(o.Precision)] = computeType.ToString();
        }
        if (task is not null)
        {
            // Only tasks other than classification add the field, so classifier checkpoints written before it still resume.
            fields["Task"] = task;
        }
        return new TrainingFingerprint(fields);
    }

    /// <summary>The vocabulary sample when it is smaller than the data (only then does it change the vocabulary, so
    /// checkpoints written before the option existed still resume).</summary>
    private static string VocabularySample(GwtTextTrainerOptions o, TextDataScan train) =>
        train.Rows > o.VocabularySampleRows ? $", fitted on the first {o.VocabularySampleRows} rows" : "";
}
