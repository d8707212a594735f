using System.Globalization;
using System.Security.Cryptography;
using Microsoft.ML.Gwt.Tokenization;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// What a training run's result depends on, as named fields: the training and validation rows (SHA-256 of their token
/// ids, segment ids and labels, in order) and every option that changes the weights. A checkpoint resumes only a run
/// whose fingerprint agrees field by field; otherwise the differing fields are named.
/// </summary>
internal sealed class TrainingFingerprint
{
    private TrainingFingerprint(SortedDictionary<string, string> fields) => Fields = fields;

    /// <summary>Field name to value.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    public static TrainingFingerprint Of(GwtTextClassificationTrainer.Options o, int seed, int numClasses, double peakLearningRate,
        IReadOnlyList<string> gwtTargets, IReadOnlyList<(EncodedText Text, int Label)> train, IReadOnlyList<(EncodedText Text, int Label)>? validation)
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
        return new TrainingFingerprint(fields);
    }

    /// <summary>Restores a fingerprint read from a checkpoint manifest.</summary>
    public static TrainingFingerprint FromFields(IReadOnlyDictionary<string, string> fields) =>
        new(new SortedDictionary<string, string>(fields.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal));

    /// <summary>The fields whose values differ (or exist on one side only), each as "Name (checkpoint: a; now: b)".</summary>
    public IReadOnlyList<string> Differences(TrainingFingerprint saved) =>
        Fields.Keys.Union(saved.Fields.Keys).Order(StringComparer.Ordinal)
            .Where(k => !Fields.TryGetValue(k, out var now) || !saved.Fields.TryGetValue(k, out var then) || now != then)
            .Select(k => $"{k} (checkpoint: {saved.Fields.GetValueOrDefault(k, "absent")}; now: {Fields.GetValueOrDefault(k, "absent")})")
            .ToList();

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
