using Microsoft.ML.Gwt.Modeling;
using Onnx;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// <see cref="BertEncoder"/> (BERT, RoBERTa, XLM-RoBERTa, CamemBERT, ELECTRA) as ONNX nodes, op for op: embeddings
/// (word + position + token type, LayerNorm, ELECTRA's <c>embeddings_project</c>), then post-LayerNorm layers whose
/// attention adds <c>(1 - mask) · float.MinValue</c> to the scaled scores.
/// </summary>
internal static class BertOnnxEncoder
{
    /// <summary>The last hidden state <c>[batch, tokens, hidden]</c>.</summary>
    public static string Encode(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        var hidden = Embed(g, w, c, inputs);
        if (w.Has("embeddings_project.weight"))
        {
            hidden = g.Linear(hidden, w, "embeddings_project");
        }
        var inverted = g.Node("Sub", new[] { g.Scalar(1f), inputs.MaskAsFloat(g) });
        var additive = g.Node("Unsqueeze", new[] { g.Node("Mul", new[] { inverted, g.Scalar(float.MinValue) }), g.Vector(1, 2) });
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            hidden = Layer(g, w, c, $"encoder.layer.{i}", hidden, additive);
        }
        return hidden;
    }

    private static string Embed(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        var word = g.Node("Gather", new[] { w.Initializer(g, "embeddings.word_embeddings.weight"), inputs.InputIds });
        var position = g.Node("Gather", new[] { w.Initializer(g, "embeddings.position_embeddings.weight"), PositionIds(g, c, inputs) });
        var sum = g.Node("Add", new[] { word, position });
        var typeTable = w.Initializer(g, "embeddings.token_type_embeddings.weight");
        // Without token_type_ids every token has type 0: row 0 of the table, broadcast.
        var types = g.Node("Gather", new[] { typeTable, inputs.TokenTypeIds ?? g.Scalar(0L) });
        sum = g.Node("Add", new[] { sum, types });
        return g.LayerNorm(sum, w, "embeddings.LayerNorm", c.LayerNormEps);
    }

    /// <summary>BERT and ELECTRA count positions from 0; RoBERTa-family models count real tokens from
    /// <c>pad_token_id + 1</c> and give padding <c>pad_token_id</c>.</summary>
    private static string PositionIds(OnnxGraphBuilder g, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        if (c.Family != TransformerFamily.Roberta)
        {
            return inputs.Positions(g);
        }
        var notPad = g.Node("Not", new[] { g.Node("Equal", new[] { inputs.InputIds, g.Scalar((long)c.PadTokenId) }) });
        var mask = g.Node("Cast", new[] { notPad }, null, OnnxGraphBuilder.Attr("to", (long)TensorProto.Types.DataType.Int64));
        var counted = g.Node("CumSum", new[] { mask, g.Scalar(1L) });
        return g.Node("Add", new[] { g.Node("Mul", new[] { counted, mask }), g.Scalar((long)c.PadTokenId) });
    }

    private static string Layer(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, string p, string hidden, string additive)
    {
        int heads = c.NumAttentionHeads, headSize = c.HiddenSize / heads;
        var q = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.query"), heads, headSize);
        var kT = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.key"), heads, headSize, keyLayout: true);
        var v = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.value"), heads, headSize);
        var scores = g.Node("Div", new[] { g.Node("MatMul", new[] { q, kT }), g.Scalar((float)Math.Sqrt(headSize)) });
        var probs = g.Node("Softmax", new[] { g.Node("Add", new[] { scores, additive }) }, null, OnnxGraphBuilder.Attr("axis", -1));
        var context = g.MergeHeads(g.Node("MatMul", new[] { probs, v }), c.HiddenSize);
        var attended = g.LayerNorm(g.Node("Add", new[] { g.Linear(context, w, p + ".attention.output.dense"), hidden }), w,
            p + ".attention.output.LayerNorm", c.LayerNormEps);
        var inner = g.Activation(c.HiddenAct, g.Linear(attended, w, p + ".intermediate.dense"));
        return g.LayerNorm(g.Node("Add", new[] { g.Linear(inner, w, p + ".output.dense"), attended }), w, p + ".output.LayerNorm", c.LayerNormEps);
    }
}
