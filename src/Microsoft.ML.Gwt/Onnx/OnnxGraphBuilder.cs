using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>
/// Builds one ONNX graph: named float32/int64 initializers, nodes of the default domain, and the few composite blocks
/// every family uses (linear layer, LayerNormalization, activations, multi-head reshapes). Node outputs get fresh
/// names from a counter; weights keep the PyTorch parameter names they come from.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The opset written: ONNX Runtime 1.31 and ML.NET's OnnxTransformer run it, and it has
    /// <c>LayerNormalization</c> (opset 17).</summary>
    public const int Opset = 17;

    /// <summary>IR version 8 is the one of opset 17 (ONNX 1.12).</summary>
    public const long IrVersion = 8;

    private readonly GraphProto _graph;
    private readonly Dictionary<string, string> _constants = new();
    private int _counter;

    public OnnxGraphBuilder(string name)
    {
        _graph = new GraphProto { Name = name };
    }

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Fresh(string hint) => $"{hint}_{_counter++}";

    /// <summary>Declares a graph input <c>[batch, sequence]</c> of the given element type.</summary>
    public string Input(string name, TensorProto.Types.DataType type, params string[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a graph output under <paramref name="name"/>.</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params string[] dims)
    {
        Node("Identity", new[] { value }, name);
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Adds a node and returns its (only) output.</summary>
    public string Node(string op, string[] inputs, string? output = null, params AttributeProto[] attributes)
    {
        output ??= Fresh(op);
        var node = new NodeProto { OpType = op, Name = Fresh("n_" + op) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>A float32 initializer.</summary>
    public string Floats(string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>An int64 initializer.</summary>
    public string Int64s(string name, long[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 1-D int64 constant (shared between uses).</summary>
    public string Vector(params long[] values) => Shared("i64[" + string.Join(",", values) + "]", n => Int64s(n, values, values.Length));

    /// <summary>A scalar int64 constant.</summary>
    public string Scalar(long value) => Shared($"i64({value})", n => Int64s(n, new[] { value }));

    /// <summary>A scalar float32 constant.</summary>
    public string Scalar(float value) => Shared($"f32({BitConverter.SingleToInt32Bits(value)})", n => Floats(n, new[] { value }));

    private string Shared(string key, Func<string, string> create)
    {
        if (!_constants.TryGetValue(key, out var name))
        {
            name = create(Fresh("const"));
            _constants[key] = name;
        }
        return name;
    }

    /// <summary><c>x · Wᵀ + b</c> with PyTorch's <c>[out, in]</c> weight (stored transposed as <c>[in, out]</c>).</summary>
    public string Linear(string x, OnnxWeights weights, string module, bool hasBias = true)
    {
        var w = Floats(module + ".weight^T", weights.Transposed(module + ".weight", out var shape), shape);
        var y = Node("MatMul", new[] { x, w });
        return hasBias ? Node("Add", new[] { y, weights.Initializer(this, module + ".bias") }) : y;
    }

    /// <summary>LayerNormalization over the last axis, with the module's weight, bias and epsilon.</summary>
    public string LayerNorm(string x, OnnxWeights weights, string module, double epsilon) =>
        Node("LayerNormalization", new[] { x, weights.Initializer(this, module + ".weight"), weights.Initializer(this, module + ".bias") }, null,
            Attr("axis", -1), Attr("epsilon", (float)epsilon));

    /// <summary>Hugging Face's activations by name, as the TorchSharp encoder computes them: <c>gelu</c> exact
    /// (<c>0.5·x·(1 + erf(x/√2))</c>), <c>relu</c>, <c>tanh</c>, and otherwise the tanh approximation.</summary>
    public string Activation(string name, string x)
    {
        switch (name)
        {
            case "relu":
                return Node("Relu", new[] { x });
            case "tanh":
                return Node("Tanh", new[] { x });
            case "gelu":
            {
                var erf = Node("Erf", new[] { Node("Mul", new[] { x, Scalar((float)(1.0 / Math.Sqrt(2.0))) }) });
                var onePlus = Node("Add", new[] { erf, Scalar(1f) });
                return Node("Mul", new[] { Node("Mul", new[] { x, Scalar(0.5f) }), onePlus });
            }
            default:
            {
                // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                var cube = Node("Mul", new[] { Node("Mul", new[] { x, x }), x });
                var inner = Node("Add", new[] { x, Node("Mul", new[] { cube, Scalar(0.044715f) }) });
                var tanh = Node("Tanh", new[] { Node("Mul", new[] { inner, Scalar((float)Math.Sqrt(2.0 / Math.PI)) }) });
                return Node("Mul", new[] { Node("Mul", new[] { x, Scalar(0.5f) }), Node("Add", new[] { tanh, Scalar(1f) }) });
            }
        }
    }

    /// <summary><c>[batch, tokens, heads·d]</c> to <c>[batch, heads, tokens, d]</c> (or <c>[batch, heads, d, tokens]</c>
    /// when <paramref name="keyLayout"/>).</summary>
    public string SplitHeads(string x, int heads, int headSize, bool keyLayout = false)
    {
        var split = Node("Reshape", new[] { x, Vector(0, 0, heads, headSize) });
        return Node("Transpose", new[] { split }, null, Attr("perm", keyLayout ? new long[] { 0, 2, 3, 1 } : new long[] { 0, 2, 1, 3 }));
    }

    /// <summary><c>[batch, heads, tokens, d]</c> back to <c>[batch, tokens, heads·d]</c>.</summary>
    public string MergeHeads(string x, int hidden)
    {
        var t = Node("Transpose", new[] { x }, null, Attr("perm", new long[] { 0, 2, 1, 3 }));
        return Node("Reshape", new[] { t, Vector(0, 0, hidden) });
    }

    /// <summary><c>hidden[:, 0]</c>: the first token's vector, <c>[batch, hidden]</c>.</summary>
    public string FirstToken(string hidden) => Node("Gather", new[] { hidden, Scalar(0L) }, null, Attr("axis", 1));

    /// <summary>The finished model.</summary>
    public ModelProto Build(string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Microsoft.ML.Gwt",
            ProducerVersion = producerVersion,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(long.TryParse(d, out var n) ? new TensorShapeProto.Types.Dimension { DimValue = n } : new TensorShapeProto.Types.Dimension { DimParam = d });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
