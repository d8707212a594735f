using Microsoft.ML.Gwt.Core.IO;
using Microsoft.ML.Gwt.OnnxExport;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Export to ONNX.</summary>
public sealed partial class GwtTextClassificationTransformer
{
    /// <summary>
    /// Writes the encoder and classification head as one ONNX graph (opset 17): inputs <c>input_ids</c>,
    /// <c>attention_mask</c> and, for BERT, ELECTRA and DeBERTa-v2 models with token types, <c>token_type_ids</c> (int64
    /// <c>[batch, sequence]</c>, both axes dynamic); output <c>probabilities</c>, float32 <c>[batch, classes]</c> in key
    /// order. LayerNorm is ONNX's <c>LayerNormalization</c>, GELU the exact erf form. Every family exports; ONNX Runtime
    /// gives the same probabilities as TorchSharp within 1e-4. The file is written through a temporary name.
    /// </summary>
    /// <param name="onnxPath">The .onnx file to write (replaced if present).</param>
    /// <param name="quantization">Float32 weights (default) or the encoder layers' linear layers in dynamic int8.</param>
    /// <remarks>The graph alone needs the caller to tokenize; <see cref="ExportForOnnxScoring"/> writes a folder that
    /// scores text without TorchSharp.</remarks>
    public void ExportToOnnx(string onnxPath, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        AtomicFile.WriteAllBytes(onnxPath, OnnxGraph(quantization));
    }

    /// <summary>
    /// Writes a folder that <c>GwtOnnxTextClassificationTransformer.Load</c> (package Microsoft.ML.Gwt.Onnx, no
    /// TorchSharp) scores with ONNX Runtime: <c>model.onnx</c> (<see cref="ExportToOnnx"/>'s graph), <c>tokenizer.bin</c>,
    /// <c>labels.bin</c> (label values, when the label had key values) and <c>gwt-onnx.json</c> (column names,
    /// <c>MaxSequenceLength</c>, <c>ScoringBatchSize</c>, label names, and a SHA-256 of each file; written last).
    /// </summary>
    /// <param name="folder">The folder (created if missing; an earlier export's files are replaced).</param>
    /// <param name="quantization">Float32 weights (default) or the encoder layers' linear layers in dynamic int8.</param>
    public void ExportForOnnxScoring(string folder, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OnnxScoringFolder.Write(folder, OnnxGraph(quantization), Tokenizer, Scoring);
    }

    private byte[] OnnxGraph(GwtOnnxQuantization quantization)
    {
        return _scorer.Read(model => OnnxModelExporter.ToBytes(model, quantization));
    }
}
