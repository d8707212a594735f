using Microsoft.ML.Gwt.Core.IO;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.OnnxExport;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Export to ONNX.</summary>
public sealed partial class GwtNamedEntityRecognitionTransformer
{
    /// <summary>
    /// Writes the encoder and its token-classification head as one ONNX graph (opset 17), as
    /// <see cref="GwtTextClassificationTransformer.ExportToOnnx"/> does for a classifier, with one output: <c>logits</c>,
    /// float32 <c>[batch, tokens, tags]</c>. ONNX Runtime gives the logits TorchSharp gives within 1e-4. The file is
    /// written through a temporary name.
    /// </summary>
    /// <param name="onnxPath">The .onnx file to write (replaced if present).</param>
    /// <param name="quantization">Float32 weights (default) or the encoder layers' linear layers in dynamic int8.</param>
    public void ExportToOnnx(string onnxPath, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        AtomicFile.WriteAllBytes(onnxPath, OnnxGraph(quantization));
    }

    /// <summary>
    /// Writes a folder that <c>GwtOnnxNamedEntityRecognitionTransformer.Load</c> (package Microsoft.ML.Gwt.Onnx, no
    /// TorchSharp) scores with ONNX Runtime: <c>model.onnx</c> (<see cref="ExportToOnnx"/>'s graph), <c>tokenizer.bin</c>,
    /// <c>labels.bin</c> (the tags in the label's own type) and <c>gwt-onnx.json</c> (task, columns, tag names,
    /// <c>MaxSequenceLength</c>, <c>ScoringBatchSize</c>, the fallback tag, and a SHA-256 of each file; written last).
    /// </summary>
    /// <param name="folder">The folder (created if missing; an earlier export's files are replaced).</param>
    /// <param name="quantization">Float32 weights (default) or the encoder layers' linear layers in dynamic int8.</param>
    public void ExportForOnnxScoring(string folder, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OnnxScoringFolder.WriteTokenClassifier(folder, OnnxGraph(quantization), Tokenizer, Scoring);
    }

    private byte[] OnnxGraph(GwtOnnxQuantization quantization) => _scorer.Read(model => OnnxModelExporter.ToBytes(model, quantization));
}
