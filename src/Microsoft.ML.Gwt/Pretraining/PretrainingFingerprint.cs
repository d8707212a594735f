using System.Globalization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>What a pre-training run's weights depend on: the packed data, the architecture, the tokenizer and every
/// option that changes the weights. A checkpoint of another run is refused with the differing fields named.</summary>
internal static class PretrainingFingerprint
{
    public static TrainingFingerprint Of(GwtPretrainingOptions o, int seed, TransformerConfig config, TextTokenizer tokenizer,
        IReadOnlyList<string> targets, string dataHash)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return new TrainingFingerprint(new Dictionary<string, string>
        {
            ["Data"] = dataHash,
            ["Config"] = config.ToJson(),
            ["Tokenizer"] = $"{tokenizer.Kind} {tokenizer.VocabSize}",
            ["ContinueFrom"] = o.ContinueFrom is null ? "" : Path.GetFullPath(o.ContinueFrom),
            ["MaxSequenceLength"] = o.MaxSequenceLength.ToString(CultureInfo.InvariantCulture),
            ["MaskProbability"] = F(o.MaskProbability),
            ["WholeWordMasking"] = o.WholeWordMasking.ToString(),
            ["BatchSize"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["MaxEpochs"] = o.MaxEpochs.ToString(CultureInfo.InvariantCulture),
            ["ShuffleBufferSize"] = o.ShuffleBufferSize.ToString(CultureInfo.InvariantCulture),
            ["Optimizer"] = o.Optimizer.ToString(),
            ["LearningRate"] = F(o.ResolvedLearningRate),
            ["NonTargetLearningRate"] = F(o.ResolvedNonTargetLearningRate),
            ["WarmupFraction"] = F(o.WarmupFraction),
            ["WeightDecay"] = F(o.WeightDecay),
            ["GwtLevel"] = o.GwtLevel.ToString(CultureInfo.InvariantCulture),
            ["GwtAlpha"] = F(o.GwtAlpha),
            ["GwtNormGrowthLimiter"] = o.GwtNormGrowthLimiter.ToString(),
            ["GwtTargets"] = string.Join(",", targets),
            ["GradientClipNorm"] = F(o.GradientClipNorm),
            ["GradientAccumulationSteps"] = o.GradientAccumulationSteps.ToString(CultureInfo.InvariantCulture),
            ["Seed"] = seed.ToString(CultureInfo.InvariantCulture),
        });
    }
}
