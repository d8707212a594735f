using Microsoft.ML.Gwt.Modeling;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// <see cref="DebertaV2Encoder"/> as ONNX nodes. Disentangled attention adds <c>c2p</c> (<c>q · pos_key</c> gathered at
/// each pair's bucketed relative position) and <c>p2c</c> (<c>k · pos_query</c>, gathered, transposed) with
/// <c>GatherElements</c>; padding rows and columns get zero attention; the optional convolution after the first layer
/// is an ONNX <c>Conv</c>.
/// </summary>
/// <remarks>
/// What depends only on the weights is computed once at export in TorchSharp, with the encoder's own operations: the
/// normalized relative embeddings projected by each layer's position key/query projections, and the bucket of every
/// relative distance the position table allows (<see cref="DebertaV2Encoder.RelativePositions"/>), stored as the
/// already clamped <c>c2p</c>/<c>p2c</c> column index of each distance. The graph looks those up for
/// <c>i - j</c>.
/// </remarks>
internal static class DebertaV2OnnxEncoder
{
    /// <summary>The last hidden state <c>[batch, tokens, hidden]</c>.</summary>
    public static string Encode(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        var maskF = g.Node("Unsqueeze", new[] { inputs.MaskAsFloat(g), g.Vector(2) });
        var embedded = Embed(g, w, c, inputs, maskF);
        var keep = g.Node("Cast", new[] { inputs.AttentionMask }, null, OnnxGraphBuilder.Attr("to", (long)TensorProto.Types.DataType.Bool));
        var pair = g.Node("And", new[] { g.Node("Unsqueeze", new[] { keep, g.Vector(1, 2) }), g.Node("Unsqueeze", new[] { keep, g.Vector(1, 3) }) });
        var dropped = g.Node("Not", new[] { pair });
        (string C2p, string P2c)? relative = c.RelativeAttention ? RelativeIndices(g, c, inputs) : null;
        bool hasConv = w.Has("encoder.conv.conv.weight");
        var hidden = embedded;
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            hidden = Layer(g, w, c, i, hidden, dropped, relative);
            if (i == 0 && hasConv)
            {
                hidden = Conv(g, w, c, embedded, hidden, maskF);
            }
        }
        return hidden;
    }

    private static string Embed(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, OnnxEncoderInputs inputs, string maskF)
    {
        var sum = g.Node("Gather", new[] { w.Initializer(g, "embeddings.word_embeddings.weight"), inputs.InputIds });
        if (w.Has("embeddings.position_embeddings.weight"))
        {
            sum = g.Node("Add", new[] { sum, g.Node("Gather", new[] { w.Initializer(g, "embeddings.position_embeddings.weight"), inputs.Positions(g) }) });
        }
        if (w.Has("embeddings.token_type_embeddings.weight"))
        {
            var types = inputs.TokenTypeIds ?? g.Scalar(0L);
            sum = g.Node("Add", new[] { sum, g.Node("Gather", new[] { w.Initializer(g, "embeddings.token_type_embeddings.weight"), types }) });
        }
        if (w.Has("embeddings.embed_proj.weight"))
        {
            sum = g.Linear(sum, w, "embeddings.embed_proj", hasBias: false);
        }
        return g.Node("Mul", new[] { g.LayerNorm(sum, w, "embeddings.LayerNorm", c.LayerNormEps), maskF });
    }

    /// <summary>The c2p and p2c column indices <c>[tokens, tokens]</c> of the batch: tables indexed by
    /// <c>i - j + (P - 1)</c>, P the position table's length.</summary>
    private static (string C2p, string P2c) RelativeIndices(OnnxGraphBuilder g, TransformerConfig c, OnnxEncoderInputs inputs)
    {
        long p = c.MaxSequenceLength;
        int span = c.RelativeSpan;
        var c2p = new long[2 * p - 1];
        var p2c = new long[2 * p - 1];
        using (var scope = torch.NewDisposeScope())
        {
            var buckets = DebertaV2Encoder.RelativePositions(p, c.PositionBuckets, c.MaxRelativeDistance).data<long>().ToArray();
            for (long k = 0; k < 2 * p - 1; k++)
            {
                long rel = k - (p - 1);
                long bucket = rel >= 0 ? buckets[rel * p] : buckets[-rel]; // row i = rel, column 0; or row 0, column -rel
                c2p[k] = Math.Clamp(bucket + span, 0, 2L * span - 1);
                p2c[k] = Math.Clamp(-bucket + span, 0, 2L * span - 1);
            }
        }
        var positions = inputs.Positions(g);
        var diff = g.Node("Sub", new[] { g.Node("Unsqueeze", new[] { positions, g.Vector(1) }), g.Node("Unsqueeze", new[] { positions, g.Vector(0) }) });
        var index = g.Node("Add", new[] { diff, g.Scalar(p - 1) });
        var c2pTable = g.Int64s("deberta.c2p_index_by_distance", c2p, c2p.Length);
        var p2cTable = g.Int64s("deberta.p2c_index_by_distance", p2c, p2c.Length);
        return (g.Node("Gather", new[] { c2pTable, index }), g.Node("Gather", new[] { p2cTable, index }));
    }

    private static string Layer(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, int layer, string hidden, string dropped, (string C2p, string P2c)? relative)
    {
        string p = $"encoder.layer.{layer}";
        int heads = c.NumAttentionHeads, headSize = c.HiddenSize / heads;
        bool c2p = c.RelativeAttention && c.PosAttType.Contains("c2p");
        bool p2c = c.RelativeAttention && c.PosAttType.Contains("p2c");
        var q = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.query_proj"), heads, headSize);
        var k = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.key_proj"), heads, headSize);
        var kT = g.Node("Transpose", new[] { k }, null, OnnxGraphBuilder.Attr("perm", new long[] { 0, 1, 3, 2 }));
        var v = g.SplitHeads(g.Linear(hidden, w, p + ".attention.self.value_proj"), heads, headSize);
        int factor = 1 + (c2p ? 1 : 0) + (p2c ? 1 : 0);
        var scale = g.Scalar(MathF.Sqrt(headSize * factor));
        var scores = g.Node("Div", new[] { g.Node("MatMul", new[] { q, kT }), scale });
        if (relative is { } rel && (c2p || p2c))
        {
            var shape = g.Node("Shape", new[] { scores });
            string? sum = null;
            if (c2p)
            {
                var posKeyT = PositionProjection(g, w, c, layer, c.ShareAttKey ? "key_proj" : "pos_key_proj");
                var scoresC2p = g.Node("MatMul", new[] { q, posKeyT });
                var index = g.Node("Expand", new[] { rel.C2p, shape });
                sum = g.Node("Div", new[] { g.Node("GatherElements", new[] { scoresC2p, index }, null, OnnxGraphBuilder.Attr("axis", -1)), scale });
            }
            if (p2c)
            {
                var posQueryT = PositionProjection(g, w, c, layer, c.ShareAttKey ? "query_proj" : "pos_query_proj");
                var scoresP2c = g.Node("MatMul", new[] { k, posQueryT });
                var index = g.Node("Expand", new[] { rel.P2c, shape });
                var gathered = g.Node("GatherElements", new[] { scoresP2c, index }, null, OnnxGraphBuilder.Attr("axis", -1));
                var term = g.Node("Div", new[] { g.Node("Transpose", new[] { gathered }, null, OnnxGraphBuilder.Attr("perm", new long[] { 0, 1, 3, 2 })), scale });
                sum = sum is null ? term : g.Node("Add", new[] { sum, term });
            }
            scores = g.Node("Add", new[] { scores, sum! });
        }
        var filled = g.Node("Where", new[] { dropped, g.Scalar(float.MinValue), scores });
        var softmax = g.Node("Softmax", new[] { filled }, null, OnnxGraphBuilder.Attr("axis", -1));
        var probs = g.Node("Where", new[] { dropped, g.Scalar(0f), softmax });
        var context = g.MergeHeads(g.Node("MatMul", new[] { probs, v }), c.HiddenSize);
        var attended = g.LayerNorm(g.Node("Add", new[] { g.Linear(context, w, p + ".attention.output.dense"), hidden }), w,
            p + ".attention.output.LayerNorm", c.LayerNormEps);
        var inner = g.Activation(c.HiddenAct, g.Linear(attended, w, p + ".intermediate.dense"));
        return g.LayerNorm(g.Node("Add", new[] { g.Linear(inner, w, p + ".output.dense"), attended }), w, p + ".output.LayerNorm", c.LayerNormEps);
    }

    /// <summary>The relative embeddings (LayerNorm-ed when the encoder has <c>encoder.LayerNorm</c>, cut to 2·span rows)
    /// projected by a layer's <paramref name="projection"/> and split into heads, as the constant
    /// <c>[1, heads, d, 2·span]</c> (already transposed for the product).</summary>
    private static string PositionProjection(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, int layer, string projection)
    {
        int heads = c.NumAttentionHeads, headSize = c.HiddenSize / heads;
        string module = $"encoder.layer.{layer}.attention.self.{projection}";
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var rel = w.Tensor("encoder.rel_embeddings.weight").detach();
        if (w.Has("encoder.LayerNorm.weight"))
        {
            rel = nn.functional.layer_norm(rel, new long[] { c.HiddenSize }, w.Tensor("encoder.LayerNorm.weight"), w.Tensor("encoder.LayerNorm.bias"), c.LayerNormEps);
        }
        rel = rel.narrow(0, 0, Math.Min(2L * c.RelativeSpan, rel.shape[0])).unsqueeze(0);
        var projected = nn.functional.linear(rel, w.Tensor(module + ".weight"), w.Tensor(module + ".bias"))
            .view(1, -1, heads, headSize).transpose(1, 2).transpose(-1, -2).contiguous();
        return g.Floats(g.Fresh($"{w.Prefix}{module}(rel_embeddings)^T"), OnnxWeights.Read(projected), projected.shape);
    }

    /// <summary><c>LayerNorm(residual + act(conv(embedded) · mask)) · mask</c>.</summary>
    private static string Conv(OnnxGraphBuilder g, OnnxWeights w, TransformerConfig c, string embedded, string residual, string maskF)
    {
        int pad = (c.ConvKernelSize - 1) / 2;
        var channels = g.Node("Transpose", new[] { embedded }, null, OnnxGraphBuilder.Attr("perm", new long[] { 0, 2, 1 }));
        var conv = g.Node("Conv", new[] { channels, w.Initializer(g, "encoder.conv.conv.weight"), w.Initializer(g, "encoder.conv.conv.bias") }, null,
            OnnxGraphBuilder.Attr("group", (long)c.ConvGroups), OnnxGraphBuilder.Attr("pads", new long[] { pad, pad }),
            OnnxGraphBuilder.Attr("kernel_shape", new long[] { c.ConvKernelSize }));
        var back = g.Node("Mul", new[] { g.Node("Transpose", new[] { conv }, null, OnnxGraphBuilder.Attr("perm", new long[] { 0, 2, 1 })), maskF });
        var normed = g.LayerNorm(g.Node("Add", new[] { residual, g.Activation(c.ConvAct, back) }), w, "encoder.conv.LayerNorm", c.LayerNormEps);
        return g.Node("Mul", new[] { normed, maskF });
    }
}
