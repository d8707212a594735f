namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>How exported weights are stored.</summary>
public enum GwtOnnxQuantization
{
    /// <summary>Every weight float32: ONNX Runtime gives TorchSharp's probabilities within 1e-4.</summary>
    None,

    /// <summary>The linear layers inside the encoder layers in ONNX Runtime's dynamic int8 form: int8 weights with one
    /// scale per output column, activations quantized to uint8 per batch at run time (<c>DynamicQuantizeLinear</c> +
    /// <c>MatMulInteger</c>). Embeddings, LayerNorms and the head stay float32. Smaller and usually faster on CPU, with
    /// probabilities that differ from float32 by quantization error (not bounded by 1e-4).</summary>
    DynamicInt8,
}
