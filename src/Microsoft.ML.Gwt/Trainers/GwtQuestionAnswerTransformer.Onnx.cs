using Microsoft.ML.Gwt.Core.IO;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.OnnxExport;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Export to ONNX.</summary>
public sealed partial class GwtQuestionAnswerTransformer
{
    /// <summary>
    /// Writes the encoder and its span head as one ONNX graph (opset 17) with one output: <c>span_logits</c>, float32
    /// <c>[batch, sequence, 2]</c>, every position's start and end logits (windowing and answer decoding stay in .NET, in
    /// <see cref="Core.QuestionAnswering.QuestionAnswerTransformerBase"/>). The file is written through a temporary name.
    /// </summary>
    public void ExportToOnnx(string onnxPath, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        AtomicFile.WriteAllBytes(onnxPath, OnnxGraph(quantization));
    }

    /// <summary>
    /// Writes a folder that <c>GwtOnnxQuestionAnswerTransformer.Load</c> (package Microsoft.ML.Gwt.Onnx, no TorchSharp)
    /// scores with ONNX Runtime: <c>model.onnx</c>, <c>tokenizer.bin</c>, <c>question-answering.bin</c> (columns, top-k,
    /// window layout) and <c>gwt-onnx.json</c> (task "question-answering" and a SHA-256 of each file; written last).
    /// </summary>
    public void ExportForOnnxScoring(string folder, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        OnnxScoringFolder.WriteQuestionAnswer(folder, OnnxGraph(quantization), Tokenizer, Settings);
    }

    private byte[] OnnxGraph(GwtOnnxQuantization quantization) => _scorer.Read(model => OnnxModelExporter.ToBytes(model, quantization));
}
