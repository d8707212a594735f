using Microsoft.ML.Gwt.Modeling;
using Onnx;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>The graph inputs of an exported encoder: <c>input_ids</c>, <c>attention_mask</c> (int64
/// <c>[batch, sequence]</c>) and <c>token_type_ids</c> where the family has token types.</summary>
internal sealed record OnnxEncoderInputs(string InputIds, string AttentionMask, string? TokenTypeIds)
{
    /// <summary>The input names, in this order.</summary>
    public const string InputIdsName = "input_ids", AttentionMaskName = "attention_mask", TokenTypeIdsName = "token_type_ids";

    /// <summary>Whether an exported <paramref name="config"/> takes <c>token_type_ids</c>: families with two or more
    /// token types (BERT, ELECTRA, DeBERTa-v2 with <c>type_vocab_size</c> ≥ 2). RoBERTa-family models have one type, whose
    /// embedding row is added as a constant; DistilBERT and DeBERTa-v3 have none.</summary>
    public static bool HasTokenTypes(TransformerConfig config) =>
        config.Family != TransformerFamily.DistilBert && config.TypeVocabSize >= 2;

    /// <summary>Declares the inputs with dynamic <c>batch</c> and <c>sequence</c> axes.</summary>
    public static OnnxEncoderInputs Declare(OnnxGraphBuilder g, TransformerConfig config)
    {
        var int64 = TensorProto.Types.DataType.Int64;
        var ids = g.Input(InputIdsName, int64, "batch", "sequence");
        var mask = g.Input(AttentionMaskName, int64, "batch", "sequence");
        var types = HasTokenTypes(config) ? g.Input(TokenTypeIdsName, int64, "batch", "sequence") : null;
        return new OnnxEncoderInputs(ids, mask, types);
    }

    /// <summary><c>[0, 1, ..., tokens-1]</c> for the batch's token count.</summary>
    public string Positions(OnnxGraphBuilder g)
    {
        var shape = g.Node("Shape", new[] { InputIds });
        var tokens = g.Node("Gather", new[] { shape, g.Scalar(1L) }, null, OnnxGraphBuilder.Attr("axis", 0));
        return g.Node("Range", new[] { g.Scalar(0L), tokens, g.Scalar(1L) });
    }

    /// <summary>The attention mask as float32 <c>[batch, tokens]</c>.</summary>
    public string MaskAsFloat(OnnxGraphBuilder g) =>
        g.Node("Cast", new[] { AttentionMask }, null, OnnxGraphBuilder.Attr("to", (long)TensorProto.Types.DataType.Float));
}
