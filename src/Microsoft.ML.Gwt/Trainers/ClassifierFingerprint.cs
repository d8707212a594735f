using System.Globalization;
using System.Security.Cryptography;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>The classifier's training fingerprint: the training and validation rows (SHA-256 of their token ids, segment
/// ids and labels, in order) and every option that changes the weights.</summary>
internal static class ClassifierFingerprint
{
    public static TrainingFingerprint Of(GwtTextClassificationTrainer.Options o, int seed, int numClasses, double peakLearningRate,
        IReadOnlyList<string> gwtTargets, IReadOnlyList<(EncodedText Text, int Label)> train, IReadOnlyList<(EncodedText Text, int Label)>? validation,
        TorchSharp.torch.ScalarType computeType = TorchSharp.torch.ScalarType.Float32)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["TrainingData"] = $"{train.Count} rows, SHA-256 {HashRows(train)}",
            ["ValidationData"] = validation is null ? "none" : $"{validation.Count} rows, SHA-256 {HashRows(validation)}",
            ["NumClasses"] = numClasses.ToString(CultureInfo.InvariantCulture),
            ["Model"] = o.PretrainedModelPath is null ? $"{o.ModelSize} from scratch, vocabulary <= {o.MaxVocabularySize}" : Path.GetFullPath(o.PretrainedModelPath),
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
        };
        if (computeType != TorchSharp.torch.ScalarType.Float32)
        {
            // Only low precisions add the field, so float32 checkpoints written before it existed still resume.
            fields[nameof(o.Precision)] = computeType.ToString();
        }
        return new TrainingFingerprint(fields);
    }

    private static string HashRows(IReadOnlyList<(EncodedText Text, int Label)> rows)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var four = new byte[4];
        void Int(int v)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(four, v);
            sha.AppendData(four);
        }
        foreach (var (text, label) in rows)
        {
            Int(label);
            Int(text.Ids.Length);
            foreach (var id in text.Ids)
            {
                Int(id);
            }
            foreach (var type in text.TypeIds)
            {
                Int(type);
            }
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
