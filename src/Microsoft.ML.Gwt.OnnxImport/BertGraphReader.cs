using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Modeling;
using Onnx;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>A weight under its Hugging Face name, in Hugging Face's layout (a linear weight is <c>[out, in]</c>).</summary>
internal sealed record HuggingFaceTensor(string Name, long[] Shape, float[] Values, string OnnxName);

/// <summary>What <see cref="BertGraphReader"/> found in a graph.</summary>
internal sealed record BertGraph(
    TransformerConfig Config,
    IReadOnlyDictionary<string, HuggingFaceTensor> Tensors,
    bool HasPooler,
    string HeadsSource,
    string EpsilonSource,
    string ActivationSource,
    IReadOnlyList<string> Notes);

/// <summary>
/// Reads a BERT encoder out of an ONNX graph exported from PyTorch (<c>torch.onnx.export</c> of a Hugging Face
/// <c>BertModel</c>, as Optimum and sentence-transformers write it): named initializers keep their Hugging Face names
/// (embeddings, biases, LayerNorms, sometimes the pooler); each linear layer's weight is an anonymous initializer
/// (<c>1000</c>, <c>onnx::MatMul_854</c>) stored <c>[in, out]</c> that feeds a <c>MatMul</c> whose output is added to
/// the layer's named bias, so it takes the bias's name (<c>...query.bias</c> gives <c>...query.weight</c>) and is
/// transposed to Hugging Face's <c>[out, in]</c>. The configuration comes from the shapes and the graph itself.
/// </summary>
internal static partial class BertGraphReader
{
    private const string Anchor = "embeddings.word_embeddings.weight";

    [GeneratedRegex(@"^(embeddings|encoder|pooler)\.", RegexOptions.CultureInvariant)]
    private static partial Regex HuggingFaceName();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.", RegexOptions.CultureInvariant)]
    private static partial Regex LayerName();

    private static readonly string[] LayerLinears =
    {
        "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense",
    };

    private static readonly string[] LayerNorms = { "attention.output.LayerNorm", "output.LayerNorm" };

    /// <summary>Reads the encoder. Every problem is an <see cref="InvalidDataException"/> (or
    /// <see cref="NotSupportedException"/> for a recognised but unsupported form) naming the graph and the tensor.</summary>
    public static BertGraph Read(OnnxGraph graph)
    {
        var source = graph.Source;
        RefuseFusedGraphs(graph);
        var anchors = graph.Initializers.Keys.Where(k => k.EndsWith(Anchor, StringComparison.Ordinal)).ToList();
        if (anchors.Count != 1)
        {
            throw new InvalidDataException(
                $"'{source}' is not a BERT-family encoder graph: expected one initializer named '[prefix.]{Anchor}', found " +
                (anchors.Count == 0 ? "none" : string.Join(", ", anchors)) + $" (initializers: {Sample(graph.Initializers.Keys)}).");
        }
        string prefix = anchors[0][..^Anchor.Length];
        var notes = new List<string>();
        var tensors = new Dictionary<string, HuggingFaceTensor>(StringComparer.Ordinal);
        var consumed = new HashSet<string>(StringComparer.Ordinal);

        string? HfName(string onnxName)
        {
            if (!onnxName.StartsWith(prefix, StringComparison.Ordinal))
            {
                return null;
            }
            var name = onnxName[prefix.Length..];
            return HuggingFaceName().IsMatch(name) ? name : null;
        }

        void Add(string name, long[] shape, float[] values, string onnxName)
        {
            if (tensors.TryGetValue(name, out var existing))
            {
                throw new InvalidDataException(
                    $"'{source}': two initializers map to the Hugging Face weight '{name}': '{existing.OnnxName}' and '{onnxName}'.");
            }
            tensors[name] = new HuggingFaceTensor(name, shape, values, onnxName);
        }

        // Linear layers first: MatMul (x @ W, W stored [in, out]) or Gemm (transB says the layout).
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is not ("MatMul" or "Gemm") || node.Input.Count < 2)
            {
                continue;
            }
            var (weightName, storedOutIn) = WeightInput(graph, node);
            if (weightName is null)
            {
                continue; // activations times activations (attention scores)
            }
            var weight = graph.Initializers[weightName];
            if (weight.Dims.Count != 2)
            {
                continue;
            }
            string? name = HfName(weightName) is string own && own.EndsWith(".weight", StringComparison.Ordinal) ? own : null;
            if (name is null)
            {
                var bias = BiasOf(graph, node) ?? throw new InvalidDataException(
                    $"'{source}': the MatMul weight '{weightName}' [{string.Join(", ", weight.Dims)}] (node {OnnxGraph.Describe(node)}) " +
                    "feeds no Add with a named bias initializer, so its Hugging Face name cannot be found.");
                name = HfName(bias) is string b && b.EndsWith(".bias", StringComparison.Ordinal)
                    ? b[..^".bias".Length] + ".weight"
                    : throw new InvalidDataException(
                        $"'{source}': the MatMul weight '{weightName}' (node {OnnxGraph.Describe(node)}) is added to '{bias}', " +
                        $"which is not a Hugging Face BERT bias name ({prefix}embeddings.*, {prefix}encoder.*, {prefix}pooler.* ending in .bias).");
            }
            var values = OnnxTensors.Floats(weight, source);
            long rows = weight.Dims[0], cols = weight.Dims[1];
            Add(name, storedOutIn ? new[] { rows, cols } : new[] { cols, rows }, storedOutIn ? values : Transpose(values, rows, cols), weightName);
            consumed.Add(weightName);
        }

        // Then every named float initializer (embeddings, biases, LayerNorms, a named pooler).
        foreach (var (onnxName, tensor) in graph.Initializers)
        {
            if (consumed.Contains(onnxName) || HfName(onnxName) is not string name || name.EndsWith("position_ids", StringComparison.Ordinal))
            {
                continue;
            }
            if (tensor.DataType is not ((int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16 or (int)TensorProto.Types.DataType.Double))
            {
                continue;
            }
            Add(name, tensor.Dims.ToArray(), OnnxTensors.Floats(tensor, source), onnxName);
            consumed.Add(onnxName);
        }

        var ignored = graph.Initializers.Where(kv => !consumed.Contains(kv.Key) && kv.Value.Dims.Count >= 2
                && kv.Value.DataType == (int)TensorProto.Types.DataType.Float && !kv.Key.EndsWith("position_ids", StringComparison.Ordinal))
            .Select(kv => kv.Key).ToList();
        if (ignored.Count > 0)
        {
            notes.Add($"Float initializers not imported (no Hugging Face name): {Sample(ignored)}.");
        }

        var config = InferConfig(graph, tensors, prefix, notes, out bool hasPooler, out var headsSource, out var epsSource, out var actSource);
        return new BertGraph(config, tensors, hasPooler, headsSource, epsSource, actSource, notes);
    }

    private static TransformerConfig InferConfig(OnnxGraph graph, Dictionary<string, HuggingFaceTensor> tensors, string prefix, List<string> notes,
        out bool hasPooler, out string headsSource, out string epsSource, out string actSource)
    {
        var source = graph.Source;
        HuggingFaceTensor Require(string name, params long[] shape)
        {
            if (!tensors.TryGetValue(name, out var t))
            {
                throw new InvalidDataException(
                    $"'{source}' is not a complete BERT encoder: it has no weight for '{name}' (ONNX initializer '{prefix}{name}', " +
                    $"or for a linear weight an anonymous MatMul initializer added to '{prefix}{name[..name.LastIndexOf('.')]}.bias').");
            }
            if (shape.Length > 0 && !(t.Shape.Length == shape.Length && t.Shape.Zip(shape).All(p => p.Second < 0 || p.First == p.Second)))
            {
                throw new InvalidDataException(
                    $"'{source}': '{name}' (ONNX '{t.OnnxName}') has shape [{string.Join(", ", t.Shape)}]; " +
                    $"expected [{string.Join(", ", shape.Select(s => s < 0 ? "*" : s.ToString(CultureInfo.InvariantCulture)))}].");
            }
            return t;
        }

        var words = Require(Anchor, -1, -1);
        int vocab = (int)words.Shape[0], hidden = (int)words.Shape[1];
        int positions = (int)Require("embeddings.position_embeddings.weight", -1, hidden).Shape[0];
        int types = (int)Require("embeddings.token_type_embeddings.weight", -1, hidden).Shape[0];
        Require("embeddings.LayerNorm.weight", hidden);
        Require("embeddings.LayerNorm.bias", hidden);
        var layerIndices = tensors.Keys.Select(k => LayerName().Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().OrderBy(i => i).ToList();
        if (layerIndices.Count == 0)
        {
            throw new InvalidDataException($"'{source}' is not a BERT encoder: it has no 'encoder.layer.N.*' weights.");
        }
        int layers = layerIndices[^1] + 1;
        int intermediate = (int)Require("encoder.layer.0.intermediate.dense.bias", -1).Shape[0];
        for (int i = 0; i < layers; i++)
        {
            foreach (var linear in LayerLinears)
            {
                long outs = linear == "intermediate.dense" ? intermediate : hidden;
                long ins = linear == "output.dense" ? intermediate : hidden;
                Require($"encoder.layer.{i}.{linear}.weight", outs, ins);
                Require($"encoder.layer.{i}.{linear}.bias", outs);
            }
            foreach (var norm in LayerNorms)
            {
                Require($"encoder.layer.{i}.{norm}.weight", hidden);
                Require($"encoder.layer.{i}.{norm}.bias", hidden);
            }
        }
        hasPooler = tensors.ContainsKey("pooler.dense.weight");
        if (hasPooler)
        {
            Require("pooler.dense.weight", hidden, hidden);
            Require("pooler.dense.bias", hidden);
        }
        else
        {
            notes.Add("The graph has no pooler (pooler.dense): fine-tuning a BERT classifier from this folder starts its pooler " +
                "from a random initialization, as Hugging Face's BertForSequenceClassification does for a checkpoint without one.");
        }

        int heads = InferHeads(graph, prefix, hidden, out headsSource);
        double eps = InferEpsilon(graph, notes, out epsSource);
        string act = InferActivation(graph, prefix, out actSource);
        var config = new TransformerConfig
        {
            ModelType = "bert",
            VocabSize = vocab,
            HiddenSize = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            IntermediateSize = intermediate,
            HiddenAct = act,
            MaxPositionEmbeddings = positions,
            TypeVocabSize = types,
            LayerNormEps = eps,
        };
        return config;
    }

    /// <summary>Heads from the <c>Reshape</c> that splits layer 0's query into <c>[batch, tokens, heads, head_size]</c>;
    /// else from the attention's scale <c>1/sqrt(head_size)</c>; else head size 64 (said in the report; the
    /// verification catches a wrong guess).</summary>
    private static int InferHeads(OnnxGraph graph, string prefix, int hidden, out string how)
    {
        foreach (var projection in new[] { "query", "key", "value" })
        {
            var biasName = $"{prefix}encoder.layer.0.attention.self.{projection}.bias";
            foreach (var add in graph.Consumers(biasName).Where(n => n.OpType == "Add"))
            {
                foreach (var reshape in graph.Consumers(add.Output[0]).Where(n => n.OpType == "Reshape" && n.Input.Count > 1))
                {
                    if (HeadSplit(graph, reshape.Input[1]) is long[] split)
                    {
                        long h = split[0], d = split[1];
                        if (h == -1 && d > 0)
                        {
                            h = hidden / d;
                        }
                        if (h > 0 && h * (d > 0 ? d : hidden / h) == hidden)
                        {
                            how = $"the Reshape of layer 0's {projection} to [batch, tokens, {h}, {hidden / h}] (node {OnnxGraph.Describe(reshape)})";
                            return (int)h;
                        }
                    }
                }
            }
        }
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Div" or "Mul"))
        {
            var scores = graph.Producer(node.Input[0]);
            if (scores?.OpType != "MatMul" || scores.Input.Any(i => graph.Constant(i) is not null) || graph.ConstantScalar(node.Input[1]) is not double c || c <= 0)
            {
                continue;
            }
            double size = node.OpType == "Div" ? c * c : 1 / (c * c);
            int d = (int)Math.Round(size);
            if (Math.Abs(size - d) < 1e-3 && d > 0 && hidden % d == 0)
            {
                how = $"the attention scale 1/sqrt({d}) (node {OnnxGraph.Describe(node)})";
                return hidden / d;
            }
        }
        if (hidden % 64 == 0)
        {
            how = "assumed head size 64 (the graph shows neither the head split nor the attention scale)";
            return hidden / 64;
        }
        throw new InvalidDataException(
            $"'{graph.Source}': cannot tell the number of attention heads: no constant Reshape of layer 0's query/key/value and no attention scale constant.");
    }

    /// <summary>The last two entries of a 4-d Reshape target <c>[batch, tokens, heads, head_size]</c> when they are
    /// constants: the whole shape constant, or a <c>Concat</c> of the batch and token sizes read at run time
    /// (<c>Shape</c>/<c>Gather</c>) with constant heads and head size, as PyTorch exports BERT's head split.</summary>
    private static long[]? HeadSplit(OnnxGraph graph, string shape)
    {
        if (graph.ConstantLongs(shape) is long[] whole)
        {
            return whole.Length == 4 ? whole[2..] : null;
        }
        if (graph.Producer(shape) is not { OpType: "Concat" } concat || concat.Input.Count < 2)
        {
            return null;
        }
        var tail = new List<long>();
        for (int i = concat.Input.Count - 1; i >= 0 && tail.Count < 2; i--)
        {
            if (graph.ConstantLongs(concat.Input[i]) is not long[] part)
            {
                return null;
            }
            tail.InsertRange(0, part);
        }
        return tail.Count == 2 ? tail.ToArray() : null;
    }

    /// <summary>LayerNorm epsilon: a <c>LayerNormalization</c> node's <c>epsilon</c>, or the constant added to the
    /// variance before <c>Sqrt</c> in the decomposed form PyTorch exports below opset 17.</summary>
    private static double InferEpsilon(OnnxGraph graph, List<string> notes, out string how)
    {
        var found = new List<(double Value, string Where)>();
        foreach (var node in graph.Nodes)
        {
            if (node.OpType == "LayerNormalization")
            {
                var attr = OnnxGraph.Attribute(node, "epsilon");
                found.Add((attr is null ? 1e-5 : attr.F, $"the epsilon attribute of {OnnxGraph.Describe(node)}"));
            }
            else if (node.OpType == "Sqrt" && graph.Producer(node.Input[0]) is { OpType: "Add" } add
                && graph.Producer(add.Input[0]) is { OpType: "ReduceMean" })
            {
                if (graph.ConstantScalar(add.Input[1]) is double eps)
                {
                    found.Add((eps, $"the constant added to the variance before {OnnxGraph.Describe(node)}"));
                }
            }
        }
        if (found.Count == 0)
        {
            how = "not in the graph; Hugging Face's BERT default 1e-12 assumed";
            notes.Add("No LayerNorm epsilon found in the graph; used 1e-12.");
            return 1e-12;
        }
        var groups = found.GroupBy(f => f.Value).OrderByDescending(g => g.Count()).ToList();
        if (groups.Count > 1)
        {
            notes.Add($"LayerNorm epsilons differ across the graph ({string.Join(", ", groups.Select(g => $"{g.Key:R} x{g.Count()}"))}); used the most common.");
        }
        // Stored as float32: 1e-12 reads back as 9.99999996e-13; write the float's shortest decimal form.
        double value = double.Parse(((float)groups[0].Key).ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        how = $"{groups[0].First().Where} ({groups[0].Count()} LayerNorms)";
        return value;
    }

    /// <summary>The feed-forward activation, from the nodes between layer 0's <c>intermediate.dense</c> bias and
    /// the next <c>MatMul</c>: <c>Erf</c> is GELU (<c>gelu</c>), <c>Tanh</c> with a cube its tanh approximation
    /// (<c>gelu_new</c>), <c>Relu</c> ReLU; a <c>Gelu</c> node says which by its <c>approximate</c> attribute.</summary>
    private static string InferActivation(OnnxGraph graph, string prefix, out string how)
    {
        var biasName = $"{prefix}encoder.layer.0.intermediate.dense.bias";
        var seen = new HashSet<NodeProto>();
        var queue = new Queue<NodeProto>(graph.Consumers(biasName));
        var ops = new List<NodeProto>();
        while (queue.Count > 0 && ops.Count < 32)
        {
            var node = queue.Dequeue();
            if (!seen.Add(node))
            {
                continue;
            }
            ops.Add(node);
            if (node.OpType is "MatMul" or "Gemm")
            {
                continue; // output.dense: the activation is before it
            }
            foreach (var output in node.Output)
            {
                foreach (var next in graph.Consumers(output))
                {
                    queue.Enqueue(next);
                }
            }
        }
        var types = ops.Select(o => o.OpType).ToHashSet(StringComparer.Ordinal);
        if (ops.FirstOrDefault(o => o.OpType == "Gelu") is NodeProto gelu)
        {
            bool tanh = OnnxGraph.Attribute(gelu, "approximate")?.S.ToStringUtf8() == "tanh";
            how = $"a Gelu node{(tanh ? " with approximate=tanh" : "")} after layer 0's intermediate.dense";
            return tanh ? "gelu_new" : "gelu";
        }
        if (types.Contains("Erf"))
        {
            how = "the Erf after layer 0's intermediate.dense (exact GELU)";
            return "gelu";
        }
        if (types.Contains("Tanh"))
        {
            bool cube = types.Contains("Pow") || ops.Any(o => o.Input.Any(i => graph.ConstantScalar(i) is double c && Math.Abs(c - 0.044715) < 1e-6));
            how = cube ? "the Tanh of a cubic after layer 0's intermediate.dense (GELU's tanh approximation)" : "a Tanh after layer 0's intermediate.dense";
            return cube ? "gelu_new" : "tanh";
        }
        if (types.Contains("Relu"))
        {
            how = "the Relu after layer 0's intermediate.dense";
            return "relu";
        }
        throw new NotSupportedException(
            $"'{graph.Source}': the activation after '{biasName}' is not one this library runs (found ops: {string.Join(", ", ops.Select(o => o.OpType).Distinct())}; " +
            "expected GELU (Erf or Gelu), its tanh approximation, or Relu).");
    }

    /// <summary>The weight input of a MatMul/Gemm when it is an initializer, and whether it is stored <c>[out, in]</c>
    /// (Gemm with <c>transB=1</c>, or an initializer passed through a <c>Transpose</c> node).</summary>
    private static (string? Name, bool StoredOutIn) WeightInput(OnnxGraph graph, NodeProto node)
    {
        var input = node.Input[1];
        bool transposed = node.OpType == "Gemm" && OnnxGraph.Attribute(node, "transB")?.I == 1;
        if (graph.Initializers.ContainsKey(input))
        {
            return (input, transposed);
        }
        if (graph.Producer(input) is { OpType: "Transpose" } t && graph.Initializers.ContainsKey(t.Input[0]))
        {
            var perm = OnnxGraph.Attribute(t, "perm");
            if (perm is null || perm.Ints.SequenceEqual(new long[] { 1, 0 }))
            {
                return (t.Input[0], !transposed);
            }
        }
        return (null, false);
    }

    /// <summary>The bias a MatMul's output is added to (Gemm: its third input), or null.</summary>
    private static string? BiasOf(OnnxGraph graph, NodeProto node)
    {
        if (node.OpType == "Gemm")
        {
            return node.Input.Count > 2 && graph.Initializers.ContainsKey(node.Input[2]) ? node.Input[2] : null;
        }
        foreach (var add in graph.Consumers(node.Output[0]).Where(n => n.OpType == "Add"))
        {
            var other = add.Input[0] == node.Output[0] ? add.Input[1] : add.Input[0];
            if (graph.Initializers.TryGetValue(other, out var bias) && bias.Dims.Count == 1)
            {
                return other;
            }
        }
        return null;
    }

    private static void RefuseFusedGraphs(OnnxGraph graph)
    {
        var fused = graph.Nodes.Where(n => n.Domain is "com.microsoft" || n.OpType is "MatMulInteger" or "DynamicQuantizeLinear" or "QLinearMatMul")
            .Select(n => n.OpType).Distinct().ToList();
        if (fused.Count > 0)
        {
            throw new NotSupportedException(
                $"'{graph.Source}' uses fused or quantized operators ({string.Join(", ", fused)}), as ONNX Runtime's transformer optimizer or " +
                "quantizer writes them; import the plain float export of the model instead (torch.onnx.export / optimum without --optimize).");
        }
    }

    private static float[] Transpose(float[] values, long rows, long cols)
    {
        var result = new float[values.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < cols; c++)
            {
                result[c * rows + r] = values[r * cols + c];
            }
        }
        return result;
    }

    private static string Sample(IEnumerable<string> names)
    {
        var list = names.Take(11).ToList();
        return list.Count > 10 ? string.Join(", ", list.Take(10)) + ", ..." : string.Join(", ", list);
    }
}
