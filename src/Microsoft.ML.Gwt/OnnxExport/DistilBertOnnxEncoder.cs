using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// <see cref="DistilBertEncoder"/> as ONNX nodes: word + position embeddings and LayerNorm, then layers whose query is
/// divided by √d before the product and whose padding keys are set to <c>float.MinValue</c> before the softmax.
/// </summary>
internal static class DistilBertOnnxEncoder
{
    /// <summary>The last hidden state <c>[batch, tokens, hidden]</c>.</summary>
    public static string Encode(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        var word = g.Node("Gather", new[] { w.Initializer(g, "embeddings.word_embeddings.weight"), inputs.InputIds });
        var position = g.Node("Gather", new[] { w.Initializer(g, "embeddings.position_embeddings.weight"), inputs.Positions(g) });
        var hidden = g.LayerNorm(g.Node("Add", new[] { word, position }), w, "embeddings.LayerNorm", c.LayerNormEps);
        var padding = g.Node("Unsqueeze", new[] { g.Node("Equal", new[] { inputs.AttentionMask, g.Scalar(0L) }), g.Vector(1, 2) });
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            hidden = Layer(g, w, c, $"transformer.layer.{i}", hidden, padding);
        }
        return hidden;
    }

    private static string Layer(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, string p, string hidden, string padding)
    {
        int heads = c.NumAttentionHeads, headSize = c.HiddenSize / heads;
        var q = g.Node("Div", new[] { g.SplitHeads(g.Linear(hidden, w, p + ".attention.q_lin"), heads, headSize), g.Scalar((float)Math.Sqrt(headSize)) });
        var kT = g.SplitHeads(g.Linear(hidden, w, p + ".attention.k_lin"), heads, headSize, keyLayout: true);
        var v = g.SplitHeads(g.Linear(hidden, w, p + ".attention.v_lin"), heads, headSize);
        var scores = g.Node("Where", new[] { padding, g.Scalar(float.MinValue), g.Node("MatMul", new[] { q, kT }) });
        var probs = g.Node("Softmax", new[] { scores }, null, OnnxGraphBuilder.Attr("axis", -1));
        var context = g.MergeHeads(g.Node("MatMul", new[] { probs, v }), c.HiddenSize);
        var attended = g.LayerNorm(g.Node("Add", new[] { g.Linear(context, w, p + ".attention.out_lin"), hidden }), w, p + ".sa_layer_norm", c.LayerNormEps);
        var inner = g.Linear(g.Activation(c.HiddenAct, g.Linear(attended, w, p + ".ffn.lin1")), w, p + ".ffn.lin2");
        return g.LayerNorm(g.Node("Add", new[] { inner, attended }), w, p + ".output_layer_norm", c.LayerNormEps);
    }
}
