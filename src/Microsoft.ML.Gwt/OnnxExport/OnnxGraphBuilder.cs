using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.Gwt.OnnxExport;

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

    /// <param name="name">The graph's name.</param>
    /// <param name="quantizeEncoderLinears">Whether the encoder layers' linear layers are written in ONNX Runtime's
    /// dynamic int8 form (<see cref="QuantizedLinear"/>).</param>
    public OnnxGraphBuilder(string name, bool quantizeEncoderLinears = false)
    {
        _graph = new GraphProto { Name = name };
        QuantizeEncoderLinears = quantizeEncoderLinears;
    }

    /// <summary>Whether the linear layers inside encoder layers are quantized.</summary>
    public bool QuantizeEncoderLinears { get; }

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
    public string Node(string op, string[] inputs, string? output = null, params AttributeProto[] attributes) =>
        Nodes(op, inputs, 1, output is null ? null : new[] { output }, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] Nodes(string op, string[] inputs, int outputs, string[]? names = null, params AttributeProto[] attributes)
    {
        names ??= Enumerable.Range(0, outputs).Select(_ => Fresh(op)).ToArray();
        var node = new NodeProto { OpType = op, Name = Fresh("n_" + op) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return names;
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

    /// <summary><c>x · Wᵀ + b</c> with PyTorch's <c>[out, in]</c> weight (stored transposed as <c>[in, out]</c>); inside
    /// encoder layers, quantized when <see cref="QuantizeEncoderLinears"/>.</summary>
    public string Linear(string x, OnnxWeights weights, string module, bool hasBias = true)
    {
        var transposed = weights.Transposed(module + ".weight", out var shape);
        bool quantize = QuantizeEncoderLinears && (module.StartsWith("encoder.layer.", StringComparison.Ordinal) || module.StartsWith("transformer.layer.", StringComparison.Ordinal));
        var y = quantize
            ? QuantizedLinear(x, weights.Prefix + module, transposed, shape)
            : Node("MatMul", new[] { x, Floats(weights.Prefix + module + ".weight^T", transposed, shape) });
        return hasBias ? Node("Add", new[] { y, weights.Initializer(this, module + ".bias") }) : y;
    }

    /// <summary>
    /// ONNX Runtime's dynamic quantization of a product <c>x · W</c> (<c>W</c> <c>[in, out]</c>): the weight is stored as
    /// int8 with one symmetric scale per output column (<c>max |w| / 127</c>, zero point 0); at run time
    /// <c>DynamicQuantizeLinear</c> turns <c>x</c> into uint8 with its own scale and zero point, <c>MatMulInteger</c>
    /// multiplies in int32, and the result is scaled back to float32 by <c>x_scale · w_scale</c>. ONNX Runtime fuses the
    /// pattern into its <c>DynamicQuantizeMatMul</c> kernel.
    /// </summary>
    public string QuantizedLinear(string x, string name, float[] w, long[] shape)
    {
        long rows = shape[0], cols = shape[1];
        var scales = new float[cols];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < cols; c++)
            {
                scales[c] = Math.Max(scales[c], Math.Abs(w[r * cols + c]));
            }
        }
        for (long c = 0; c < cols; c++)
        {
            scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
        }
        var q = new sbyte[w.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < cols; c++)
            {
                q[r * cols + c] = (sbyte)Math.Clamp(MathF.Round(w[r * cols + c] / scales[c], MidpointRounding.ToEven), -127, 127);
            }
        }
        var weight = new TensorProto { Name = name + ".weight^T(int8)", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(q.AsSpan())) };
        weight.Dims.AddRange(shape);
        _graph.Initializer.Add(weight);
        var weightScale = Floats(name + ".weight_scale", scales, cols);
        var dq = Nodes("DynamicQuantizeLinear", new[] { x }, 3);
        var product = Node("MatMulInteger", new[] { dq[0], weight.Name, dq[2] });
        var asFloat = Node("Cast", new[] { product }, null, Attr("to", (long)TensorProto.Types.DataType.Float));
        return Node("Mul", new[] { asFloat, Node("Mul", new[] { dq[1], weightScale }) });
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
