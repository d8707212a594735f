using System.Globalization;
using System.Text;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>What <see cref="OnnxEncoderImport"/> wrote and how closely the import agrees with the original graph.</summary>
public sealed class OnnxImportReport
{
    internal OnnxImportReport()
    {
    }

    /// <summary>The Hugging Face checkpoint folder written: pass it as the trainer's <c>pretrainedModelPath</c>.</summary>
    public string OutputFolder { get; internal init; } = "";

    /// <summary>The configuration inferred from the graph (written as <c>config.json</c>).</summary>
    public TransformerConfig Config { get; internal init; } = new();

    /// <summary>Where the number of attention heads was read (the graph's head-split <c>Reshape</c>, normally).</summary>
    public string HeadsSource { get; internal init; } = "";

    /// <summary>Where the LayerNorm epsilon was read.</summary>
    public string EpsilonSource { get; internal init; } = "";

    /// <summary>Where the feed-forward activation was recognised.</summary>
    public string ActivationSource { get; internal init; } = "";

    /// <summary>Whether the tokenizer lowercases (<c>tokenizer_config.json</c>'s <c>do_lower_case</c>).</summary>
    public bool LowerCase { get; internal init; }

    /// <summary>Whether <see cref="LowerCase"/> was inferred from the vocabulary (true) or given in the options.</summary>
    public bool LowerCaseInferred { get; internal init; }

    /// <summary>Whether the graph has BERT's pooler (<c>pooler.dense</c>); without one, a classifier's pooler starts
    /// from a random initialization.</summary>
    public bool HasPooler { get; internal init; }

    /// <summary>The number of weight tensors written to <c>model.safetensors</c>.</summary>
    public int TensorCount { get; internal init; }

    /// <summary>The largest absolute difference between ONNX Runtime on the original graph and our encoder on the
    /// import, over every compared element.</summary>
    public double MaxAbsoluteDifference { get; internal init; }

    /// <summary>Where <see cref="MaxAbsoluteDifference"/> was found (output, probe row, token, dimension).</summary>
    public string MaxDifferenceLocation { get; internal init; } = "";

    /// <summary>The tolerance the import was verified against.</summary>
    public double Tolerance { get; internal init; }

    /// <summary>The number of probe rows run through both models.</summary>
    public int ProbeRows { get; internal init; }

    /// <summary>The number of real (unpadded) tokens across the probe rows.</summary>
    public int ProbeTokens { get; internal init; }

    /// <summary>The graph outputs compared (<c>last_hidden_state</c>, and the pooler output when imported).</summary>
    public IReadOnlyList<string> ComparedOutputs { get; internal init; } = Array.Empty<string>();

    /// <summary>Anything worth knowing: a missing pooler, ignored initializers, assumptions.</summary>
    public IReadOnlyList<string> Notes { get; internal init; } = Array.Empty<string>();

    /// <summary>A few lines: the configuration, the agreement and the notes.</summary>
    public override string ToString()
    {
        var c = Config;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Imported a {c.ModelType} encoder to '{OutputFolder}': {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, ");
        text.Append(CultureInfo.InvariantCulture,
            $"intermediate {c.IntermediateSize} ({c.HiddenAct}), vocabulary {c.VocabSize}, {c.MaxPositionEmbeddings} positions, {c.TypeVocabSize} token types, ");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"LayerNorm eps {c.LayerNormEps:R}, {(LowerCase ? "lowercased" : "cased")} WordPiece, {(HasPooler ? "with" : "without")} pooler; {TensorCount} tensors.");
        text.Append(CultureInfo.InvariantCulture,
            $"Verified on {ProbeRows} probe rows ({ProbeTokens} tokens; {string.Join(", ", ComparedOutputs)}): max |ONNX Runtime - ours| = {MaxAbsoluteDifference:E2} ");
        text.Append(CultureInfo.InvariantCulture, $"at {MaxDifferenceLocation} (tolerance {Tolerance:E0}).");
        foreach (var note in Notes)
        {
            text.AppendLine().Append(note);
        }
        return text.ToString();
    }
}

/// <summary>The imported encoder does not compute what the original ONNX graph computes: the largest absolute difference
/// between them exceeds the tolerance. Nothing was written to the output folder.</summary>
public sealed class OnnxImportVerificationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxImportVerificationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public OnnxImportVerificationException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public OnnxImportVerificationException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The largest absolute difference found (NaN when either model produced a NaN).</summary>
    public double MaxAbsoluteDifference { get; init; }

    /// <summary>The tolerance it exceeded.</summary>
    public double Tolerance { get; init; }

    /// <summary>The graph output where it was found.</summary>
    public string Output { get; init; } = "";

    /// <summary>The probe row.</summary>
    public int Row { get; init; }

    /// <summary>The token position (-1 for the pooler output, which has none).</summary>
    public int Token { get; init; }

    /// <summary>The hidden dimension.</summary>
    public int Dimension { get; init; }
}
