using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// The trained weights by their PyTorch (Hugging Face) names, read from a model's <c>state_dict</c> as float32 on the
/// CPU, and written into the graph once each.
/// </summary>
internal sealed class OnnxWeights
{
    private readonly IReadOnlyDictionary<string, Tensor> _state;
    private readonly HashSet<string> _written;

    /// <param name="state">The model's state dict.</param>
    /// <param name="prefix">Prepended to every name asked for (the encoder's <c>bert.</c>, <c>deberta.</c>, ...; empty for the head).</param>
    public OnnxWeights(IReadOnlyDictionary<string, Tensor> state, string prefix = "") : this(state, prefix, new HashSet<string>())
    {
    }

    private OnnxWeights(IReadOnlyDictionary<string, Tensor> state, string prefix, HashSet<string> written)
    {
        _state = state;
        Prefix = prefix;
        _written = written;
    }

    /// <summary>Prepended to every name.</summary>
    public string Prefix { get; }

    /// <summary>The same weights under another prefix.</summary>
    public OnnxWeights WithPrefix(string prefix) => new(_state, prefix, _written);

    /// <summary>Whether the model has this parameter.</summary>
    public bool Has(string name) => _state.ContainsKey(Prefix + name);

    /// <summary>The tensor itself (for export-time constant folding in TorchSharp).</summary>
    public Tensor Tensor(string name) => _state.TryGetValue(Prefix + name, out var t) ? t
        : throw new KeyNotFoundException($"The model has no parameter '{Prefix + name}' to export.");

    /// <summary>The values (row-major) and shape of a parameter.</summary>
    public float[] Values(string name, out long[] shape)
    {
        var t = Tensor(name);
        shape = t.shape;
        return Read(t);
    }

    /// <summary>A 2-D weight transposed to <c>[in, out]</c>.</summary>
    public float[] Transposed(string name, out long[] shape)
    {
        using var t = Tensor(name).detach().t();
        shape = t.shape;
        return Read(t);
    }

    /// <summary>The parameter as a graph initializer of the same name (written once).</summary>
    public string Initializer(OnnxGraphBuilder graph, string name)
    {
        string full = Prefix + name;
        if (_written.Add(full))
        {
            graph.Floats(full, Values(name, out var shape), shape);
        }
        return full;
    }

    /// <summary>A tensor's values as float32, row-major.</summary>
    public static float[] Read(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }
}
