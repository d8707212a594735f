using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>A parsed ONNX model with the look-ups the importer needs: initializers and <c>Constant</c> outputs by name,
/// each tensor's producing node and consuming nodes.</summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    private OnnxGraph(ModelProto model, string source)
    {
        Model = model;
        Source = source;
        foreach (var tensor in model.Graph.Initializer)
        {
            _initializers[tensor.Name] = tensor;
        }
        foreach (var node in model.Graph.Node)
        {
            foreach (var output in node.Output)
            {
                _producers[output] = node;
            }
            foreach (var input in node.Input)
            {
                if (input.Length == 0)
                {
                    continue; // an omitted optional input
                }
                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = new List<NodeProto>();
                }
                list.Add(node);
            }
            if (node.OpType == "Constant" && node.Output.Count == 1 && ConstantValue(node) is TensorProto value)
            {
                _constants[node.Output[0]] = value;
            }
        }
    }

    /// <summary>The model.</summary>
    public ModelProto Model { get; }

    /// <summary>Where the model came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The graph's nodes in order.</summary>
    public IEnumerable<NodeProto> Nodes => Model.Graph.Node;

    /// <summary>The initializers by name.</summary>
    public IReadOnlyDictionary<string, TensorProto> Initializers => _initializers;

    /// <summary>Parses an ONNX model; anything protobuf cannot read is an <see cref="InvalidDataException"/> naming the source.</summary>
    public static OnnxGraph Parse(byte[] bytes, string source)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"'{source}' is not an ONNX model: {ex.Message}", ex);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new InvalidDataException($"'{source}' is not an ONNX model: it has no graph nodes.");
        }
        return new OnnxGraph(model, source);
    }

    /// <summary>The node that writes <paramref name="tensor"/>, or null for a graph input or initializer.</summary>
    public NodeProto? Producer(string tensor) => _producers.GetValueOrDefault(tensor);

    /// <summary>The nodes that read <paramref name="tensor"/>.</summary>
    public IReadOnlyList<NodeProto> Consumers(string tensor) =>
        _consumers.TryGetValue(tensor, out var list) ? list : Array.Empty<NodeProto>();

    /// <summary>An initializer or a <c>Constant</c> node's value by name.</summary>
    public TensorProto? Constant(string name) =>
        _initializers.TryGetValue(name, out var t) ? t : _constants.GetValueOrDefault(name);

    /// <summary>The integer values of <paramref name="name"/> when they are known without running the graph: a
    /// constant, or a <c>Concat</c>/<c>Unsqueeze</c>/<c>Squeeze</c>/<c>Cast</c>/<c>Identity</c> of constants.</summary>
    public long[]? ConstantLongs(string name, int depth = 0)
    {
        if (depth > 8)
        {
            return null;
        }
        if (Constant(name) is TensorProto tensor)
        {
            return tensor.DataType is (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32
                ? OnnxTensors.Longs(tensor, Source) : null;
        }
        var node = Producer(name);
        switch (node?.OpType)
        {
            case "Unsqueeze" or "Squeeze" or "Cast" or "Identity":
                return ConstantLongs(node.Input[0], depth + 1);
            case "Concat":
                var parts = new List<long>();
                foreach (var input in node.Input)
                {
                    if (ConstantLongs(input, depth + 1) is not long[] part)
                    {
                        return null;
                    }
                    parts.AddRange(part);
                }
                return parts.ToArray();
            default:
                return null;
        }
    }

    /// <summary>A scalar floating-point constant (an initializer or a <c>Constant</c> node's one value).</summary>
    public double? ConstantScalar(string name)
    {
        var tensor = Constant(name);
        if (tensor is null || tensor.Dims.Aggregate(1L, (a, b) => a * b) != 1)
        {
            return null;
        }
        return tensor.DataType switch
        {
            (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16 or (int)TensorProto.Types.DataType.Double =>
                OnnxTensors.Floats(tensor, Source)[0],
            (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32 => OnnxTensors.Longs(tensor, Source)[0],
            _ => null,
        };
    }

    /// <summary>A node's attribute by name, or null.</summary>
    public static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>A node's name for messages: its name, else its op type and first output.</summary>
    public static string Describe(NodeProto node) =>
        string.IsNullOrEmpty(node.Name) ? $"{node.OpType} -> '{node.Output.FirstOrDefault()}'" : $"'{node.Name}' ({node.OpType})";

    private static TensorProto? ConstantValue(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            switch (attribute.Name)
            {
                case "value" when attribute.T is not null:
                    return attribute.T;
                case "value_float":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { attribute.F } };
                case "value_floats":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, Dims = { attribute.Floats.Count }, FloatData = { attribute.Floats } };
                case "value_int":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { attribute.I } };
                case "value_ints":
                    return new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { attribute.Ints.Count }, Int64Data = { attribute.Ints } };
            }
        }
        return null;
    }
}

/// <summary>Reads the values of ONNX tensors (raw little-endian bytes or the typed repeated fields).</summary>
internal static class OnnxTensors
{
    /// <summary>The element count of a tensor's shape.</summary>
    public static long Count(TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>A float, float16 or double tensor's values as float32.</summary>
    /// <exception cref="InvalidDataException">The tensor is of another type, stored outside the model, or its data
    /// does not fill its shape.</exception>
    public static float[] Floats(TensorProto tensor, string source)
    {
        CheckInline(tensor, source);
        long count = Count(tensor);
        var raw = tensor.RawData.Span;
        float[] values = tensor.DataType switch
        {
            (int)TensorProto.Types.DataType.Float => raw.Length > 0 ? MemoryMarshal.Cast<byte, float>(raw).ToArray() : tensor.FloatData.ToArray(),
            (int)TensorProto.Types.DataType.Double => (raw.Length > 0 ? MemoryMarshal.Cast<byte, double>(raw).ToArray() : tensor.DoubleData.ToArray())
                .Select(v => (float)v).ToArray(),
            // float16 in int32_data holds one value's 16 bits per element.
            (int)TensorProto.Types.DataType.Float16 => raw.Length > 0
                ? MemoryMarshal.Cast<byte, Half>(raw).ToArray().Select(h => (float)h).ToArray()
                : tensor.Int32Data.Select(bits => (float)BitConverter.UInt16BitsToHalf((ushort)bits)).ToArray(),
            _ => throw new InvalidDataException(
                $"'{source}': tensor '{tensor.Name}' is of ONNX type {(TensorProto.Types.DataType)tensor.DataType}; a float, float16 or double weight was expected."),
        };
        CheckCount(tensor, values.Length, count, source);
        return values;
    }

    /// <summary>An int64 or int32 tensor's values.</summary>
    public static long[] Longs(TensorProto tensor, string source)
    {
        CheckInline(tensor, source);
        var raw = tensor.RawData.Span;
        long[] values = tensor.DataType switch
        {
            (int)TensorProto.Types.DataType.Int64 => raw.Length > 0 ? MemoryMarshal.Cast<byte, long>(raw).ToArray() : tensor.Int64Data.ToArray(),
            (int)TensorProto.Types.DataType.Int32 => (raw.Length > 0 ? MemoryMarshal.Cast<byte, int>(raw).ToArray() : tensor.Int32Data.ToArray())
                .Select(v => (long)v).ToArray(),
            _ => throw new InvalidDataException(
                $"'{source}': tensor '{tensor.Name}' is of ONNX type {(TensorProto.Types.DataType)tensor.DataType}; an integer tensor was expected."),
        };
        CheckCount(tensor, values.Length, Count(tensor), source);
        return values;
    }

    private static void CheckInline(TensorProto tensor, string source)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new NotSupportedException(
                $"'{source}': tensor '{tensor.Name}' is stored in an external data file; only models with their weights inside the .onnx file are imported.");
        }
    }

    private static void CheckCount(TensorProto tensor, long actual, long expected, string source)
    {
        if (actual != expected)
        {
            throw new InvalidDataException(
                $"'{source}': tensor '{tensor.Name}' has {actual} values but its shape [{string.Join(", ", tensor.Dims)}] holds {expected}.");
        }
    }
}
