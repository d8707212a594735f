using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>Selectors of the parameters that <see cref="GwtAdam"/> compresses with the wavelet transform.</summary>
public static class GwtTargets
{
    private static readonly string[] EncoderLinearModules =
    {
        // BERT, RoBERTa, XLM-RoBERTa, CamemBERT, ELECTRA
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense",
        // DistilBERT
        "attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin", "ffn.lin1", "ffn.lin2",
        // DeBERTa-v2/v3 (pos_* exist unless share_att_key)
        "attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
        "attention.self.pos_key_proj", "attention.self.pos_query_proj",
    };

    /// <summary>
    /// The default: the weights of the encoder layers' attention and feed-forward Linear modules, in every supported
    /// family's Hugging Face names: BERT/RoBERTa/XLM-R/CamemBERT/ELECTRA
    /// <c>encoder.layer.N.attention.self.query/key/value</c>, <c>attention.output.dense</c>, <c>intermediate.dense</c>,
    /// <c>output.dense</c>; DistilBERT <c>transformer.layer.N.attention.q_lin/k_lin/v_lin/out_lin</c>,
    /// <c>ffn.lin1/lin2</c>; DeBERTa <c>encoder.layer.N.attention.self.query_proj/key_proj/value_proj</c> (and
    /// <c>pos_key_proj/pos_query_proj</c>) with the same output and feed-forward names as BERT. Embeddings (and
    /// ELECTRA's <c>embeddings_project</c>), LayerNorm, biases, poolers and the classification head are left to AdamW.
    /// </summary>
    public static bool EncoderLinearWeights(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.dim() != 2 || !name.EndsWith(".weight", StringComparison.Ordinal))
        {
            return false;
        }
        int layer = name.IndexOf("encoder.layer.", StringComparison.Ordinal) is int e and >= 0 ? e + "encoder.layer.".Length
            : name.IndexOf("transformer.layer.", StringComparison.Ordinal) is int t and >= 0 ? t + "transformer.layer.".Length : -1;
        if (layer < 0)
        {
            return false;
        }
        // After "layer.N." comes the module path inside the layer.
        int dot = name.IndexOf('.', layer);
        if (dot < 0 || !name.AsSpan(layer, dot - layer).ToString().All(char.IsAsciiDigit))
        {
            return false;
        }
        var module = name[(dot + 1)..^".weight".Length];
        return EncoderLinearModules.Contains(module, StringComparer.Ordinal);
    }

    /// <summary>The selector a run uses: <paramref name="selector"/> (default <see cref="EncoderLinearWeights"/>) with GWT,
    /// none with AdamW.</summary>
    internal static Func<string, Parameter, bool> Resolve(Trainers.GwtOptimizerKind optimizer, Func<string, Parameter, bool>? selector) =>
        optimizer == Trainers.GwtOptimizerKind.Gwt ? selector ?? EncoderLinearWeights : static (_, _) => false;

    /// <summary>Every parameter with two or more dimensions (all weight matrices, embeddings included).</summary>
    public static bool AllMatrices(string name, Parameter parameter) => parameter.dim() >= 2;

    /// <summary>Weights (2-D or more) of the modules whose dotted name ends with one of <paramref name="moduleSuffixes"/>,
    /// e.g. <c>"query"</c> or <c>"intermediate.dense"</c>.</summary>
    public static Func<string, Parameter, bool> ByModuleName(params string[] moduleSuffixes)
    {
        ArgumentNullException.ThrowIfNull(moduleSuffixes);
        return (name, p) => p.dim() >= 2 && name.EndsWith(".weight", StringComparison.Ordinal) &&
            moduleSuffixes.Any(s => name[..^".weight".Length] == s || name[..^".weight".Length].EndsWith("." + s, StringComparison.Ordinal));
    }
}
