using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// <see cref="ClassificationHead"/> of each family as ONNX nodes, from the first token's hidden vector to the logits:
/// BERT <c>classifier(tanh(pooler.dense(h)))</c>; RoBERTa family <c>out_proj(tanh(dense(h)))</c>, ELECTRA the same with
/// GELU; DistilBERT <c>classifier(relu(pre_classifier(h)))</c>; DeBERTa <c>classifier(act(pooler.dense(h)))</c>.
/// Dropout is the identity at inference.
/// </summary>
internal static class OnnxClassificationHead
{
    /// <summary>Class logits <c>[batch, classes]</c>.</summary>
    /// <param name="g">The graph.</param>
    /// <param name="encoder">The encoder's weights (BERT's pooler lives there).</param>
    /// <param name="head">The head's weights (top-level names).</param>
    /// <param name="c">The encoder's configuration.</param>
    /// <param name="lastHidden">The encoder's output <c>[batch, tokens, hidden]</c>.</param>
    public static string Logits(OnnxGraphBuilder g, OnnxWeights encoder, OnnxWeights head, TransformerConfig c, string lastHidden)
    {
        var first = g.FirstToken(lastHidden);
        return c.Family switch
        {
            TransformerFamily.Roberta => g.Linear(g.Activation("tanh", g.Linear(first, head, "classifier.dense")), head, "classifier.out_proj"),
            TransformerFamily.Electra => g.Linear(g.Activation("gelu", g.Linear(first, head, "classifier.dense")), head, "classifier.out_proj"),
            TransformerFamily.DistilBert => g.Linear(g.Activation("relu", g.Linear(first, head, "pre_classifier")), head, "classifier"),
            TransformerFamily.DebertaV2 => g.Linear(g.Activation(c.PoolerHiddenAct, g.Linear(first, head, "pooler.dense")), head, "classifier"),
            _ => g.Linear(g.Activation("tanh", g.Linear(first, encoder, "pooler.dense")), head, "classifier"),
        };
    }
}
