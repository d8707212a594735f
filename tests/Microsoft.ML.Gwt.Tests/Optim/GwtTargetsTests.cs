using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Optim;

[TestClass]
public sealed class GwtTargetsTests
{
    // Hand count for hidden 32, intermediate 64, 2 layers. Per layer: query, key, value and attention output are
    // 32×32 each (4 096), the feed-forward 32×64 + 64×32 (4 096): 8 192 per layer, 16 384 in all. DeBERTa without
    // share_att_key adds pos_key_proj and pos_query_proj, 2 × 32×32 = 2 048 per layer: 20 480. Not targeted: embeddings,
    // ELECTRA's embeddings_project, LayerNorms, biases, poolers, relative embeddings, the classification head.
    [TestMethod]
    [DataRow("bert", false, 16384L, 12)]
    [DataRow("roberta", false, 16384L, 12)]
    [DataRow("xlm-roberta", false, 16384L, 12)]
    [DataRow("camembert", false, 16384L, 12)]
    [DataRow("distilbert", false, 16384L, 12)]
    [DataRow("electra", false, 16384L, 12)]
    [DataRow("deberta-v2", false, 20480L, 16)]
    [DataRow("deberta-v2", true, 16384L, 12)]
    public void DefaultSelectorTargetsAttentionAndFeedForwardWeightsOfEveryFamily(string modelType, bool shareAttKey, long elements, int tensors)
    {
        using var model = new TextClassificationModel(TestCheckpoints.Config(modelType, shareAttKey), 3);
        var targeted = model.named_parameters().Where(p => GwtTargets.EncoderLinearWeights(p.name, p.parameter)).ToList();
        Assert.HasCount(tensors, targeted, string.Join(", ", targeted.Select(t => t.name)));
        Assert.AreEqual(elements, targeted.Sum(t => t.parameter.numel()), modelType);
        Assert.IsTrue(targeted.All(t => t.name.EndsWith(".weight", StringComparison.Ordinal) && t.parameter.dim() == 2));
    }
}
