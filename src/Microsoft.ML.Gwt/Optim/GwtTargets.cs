using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Optim;

/// <summary>Selectors of the parameters that <see cref="GwtAdam"/> compresses with the wavelet transform.</summary>
public static class GwtTargets
{
    private static readonly string[] EncoderLinearModules =
    {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense",
    };

    /// <summary>
    /// The default: the weights of the encoder layers' Linear modules (attention query/key/value/output and both
    /// feed-forward layers), named as in Hugging Face BERT/RoBERTa (<c>encoder.layer.N.attention.self.query.weight</c>).
    /// Embeddings, LayerNorm, biases, the pooler and the classification head are left to AdamW.
    /// </summary>
    public static bool EncoderLinearWeights(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.dim() == 2 && name.Contains("encoder.layer.", StringComparison.Ordinal) &&
            EncoderLinearModules.Any(m => name.EndsWith("." + m + ".weight", StringComparison.Ordinal));
    }

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
