using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>An ONNX Runtime session over an exported Microsoft.ML.Gwt graph (inputs <c>input_ids</c>,
/// <c>attention_mask</c> and, where the family has them, <c>token_type_ids</c>): pads encoded rows to the longest and runs
/// the graph once, returning its one output. Shared by the ONNX Runtime classifier and sentence-similarity transformer.</summary>
internal sealed class OnnxEncoderSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly bool _tokenTypes;

    /// <summary>Opens the graph; <paramref name="what"/> names the model in errors ("classifier", "sentence-similarity model").</summary>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the graph.</exception>
    public OnnxEncoderSession(byte[] graph, GwtOnnxScoringOptions options, string what)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = options.OptimizeGraph ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = options.IntraOpThreads,
        };
        try
        {
            _session = new InferenceSession(graph, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load the {what}'s graph: {ex.Message}", ex);
        }
        _tokenTypes = _session.InputMetadata.ContainsKey("token_type_ids");
    }

    /// <summary>The graph's outputs.</summary>
    public IReadOnlyDictionary<string, NodeMetadata> Outputs => _session.OutputMetadata;

    /// <summary>Pads the encoded rows to the longest and runs the graph once; its first output, row after row.</summary>
    public float[] Run(IReadOnlyList<EncodedText> encoded, int padId)
    {
        int width = Math.Max(1, encoded.Max(e => e.Ids.Length));
        var ids = new long[encoded.Count * width];
        var mask = new long[encoded.Count * width];
        var types = new long[encoded.Count * width];
        Array.Fill(ids, padId);
        for (int r = 0; r < encoded.Count; r++)
        {
            for (int t = 0; t < encoded[r].Ids.Length; t++)
            {
                ids[r * width + t] = encoded[r].Ids[t];
                mask[r * width + t] = 1;
                types[r * width + t] = encoded[r].TypeIds[t];
            }
        }
        int[] dims = { encoded.Count, width };
        var inputs = new List<NamedOnnxValue>(3)
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
        };
        if (_tokenTypes)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)));
        }
        using var results = _session.Run(inputs);
        return results[0].AsTensor<float>().ToArray();
    }

    /// <summary>Releases the session.</summary>
    public void Dispose() => _session.Dispose();
}
