using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>What loading a checkpoint into a module did: keys the module wanted but the checkpoint lacked (left at
/// their initialization), and checkpoint keys the module does not use.</summary>
/// <param name="Missing">Module parameter names not found in the checkpoint.</param>
/// <param name="Unexpected">Checkpoint keys that match no module parameter.</param>
public sealed record CheckpointLoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

/// <summary>Loads Hugging Face checkpoint folders (<c>config.json</c> + <c>model.safetensors</c>) into our modules.</summary>
public static class CheckpointLoader
{
    /// <summary>Reads <c>config.json</c> of a checkpoint folder, with clear errors for a missing folder or file.</summary>
    public static TransformerConfig ReadConfig(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The checkpoint folder '{folder}' does not exist.");
        }
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"The checkpoint folder '{folder}' has no config.json.", configPath);
        }
        return TransformerConfig.Load(configPath);
    }

    /// <summary>The weights file of a checkpoint folder; a folder with only <c>pytorch_model.bin</c> is an error
    /// that says safetensors is required.</summary>
    public static string WeightsPath(string folder)
    {
        var path = Path.Combine(folder, "model.safetensors");
        if (File.Exists(path))
        {
            return path;
        }
        if (File.Exists(Path.Combine(folder, "pytorch_model.bin")))
        {
            throw new NotSupportedException(
                $"The checkpoint folder '{folder}' has only pytorch_model.bin; Microsoft.ML.Gwt reads model.safetensors only " +
                "(pickle files can run code). Convert it once, e.g. with transformers: model.save_pretrained(folder, safe_serialization=True).");
        }
        throw new FileNotFoundException($"The checkpoint folder '{folder}' has no model.safetensors.", path);
    }

    /// <summary>
    /// Copies checkpoint tensors into <paramref name="module"/>'s parameters by name. Keys may carry the
    /// <paramref name="encoderPrefix"/> (<c>bert.</c>/<c>roberta.</c>) or not; old LayerNorm names
    /// (<c>gamma</c>/<c>beta</c>) are accepted. A shape mismatch is an error naming the key and both shapes. Missing
    /// encoder weights are an error (pooler excepted); missing head weights and unused keys are reported.
    /// </summary>
    public static CheckpointLoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> checkpoint, string encoderPrefix, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var normalized = new Dictionary<string, (string Original, Tensor Tensor)>(StringComparer.Ordinal);
        foreach (var (key, tensor) in checkpoint)
        {
            if (key.EndsWith("position_ids", StringComparison.Ordinal))
            {
                continue; // Hugging Face's non-persistent buffer, sometimes saved
            }
            var k = key.Replace(".gamma", ".weight", StringComparison.Ordinal).Replace(".beta", ".bias", StringComparison.Ordinal);
            if (!k.StartsWith(encoderPrefix + ".", StringComparison.Ordinal) && IsEncoderKey(k))
            {
                k = encoderPrefix + "." + k;
            }
            normalized[k] = (key, tensor);
        }

        var missing = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in module.named_parameters())
            {
                if (!normalized.TryGetValue(name, out var entry))
                {
                    missing.Add(name);
                    continue;
                }
                if (!entry.Tensor.shape.SequenceEqual(parameter.shape))
                {
                    throw new FormatException(
                        $"'{source}': tensor '{entry.Original}' has shape [{string.Join(", ", entry.Tensor.shape)}] but the model's " +
                        $"'{name}' has shape [{string.Join(", ", parameter.shape)}] (check config.json against the weights).");
                }
                parameter.copy_(entry.Tensor);
                used.Add(name);
            }
        }
        var unexpected = normalized.Where(kv => !used.Contains(kv.Key)).Select(kv => kv.Value.Original).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var fatal = missing.Where(m => m.StartsWith(encoderPrefix + ".", StringComparison.Ordinal) && !m.Contains(".pooler.", StringComparison.Ordinal)).ToList();
        if (fatal.Count > 0)
        {
            throw new FormatException(
                $"'{source}' lacks {fatal.Count} encoder weight(s): {string.Join(", ", fatal.Take(10))}{(fatal.Count > 10 ? ", ..." : "")}. " +
                (unexpected.Count > 0 ? $"Unused keys in the file: {string.Join(", ", unexpected.Take(10))}." : ""));
        }
        return new CheckpointLoadReport(missing, unexpected);
    }

    /// <summary>Loads a safetensors file into <paramref name="module"/> with <see cref="Load(nn.Module, IReadOnlyDictionary{string, Tensor}, string, string)"/>
    /// and releases the file's tensors.</summary>
    public static CheckpointLoadReport LoadFile(nn.Module module, string weightsPath, string encoderPrefix) =>
        LoadAndDispose(module, SafeTensors.Load(weightsPath), encoderPrefix, weightsPath);

    /// <summary>Loads weights we wrote ourselves (a saved model, a training checkpoint): every parameter must be there
    /// and nothing else; the tensors are released afterwards.</summary>
    /// <exception cref="InvalidDataException">A parameter is missing or an extra tensor is present.</exception>
    internal static void LoadExact(nn.Module module, Dictionary<string, Tensor> weights, string encoderPrefix, string source)
    {
        var report = LoadAndDispose(module, weights, encoderPrefix, source);
        if (report.Missing.Count > 0 || report.Unexpected.Count > 0)
        {
            throw new InvalidDataException(
                $"{source} does not match the model (missing: {string.Join(", ", report.Missing)}; unexpected: {string.Join(", ", report.Unexpected)}).");
        }
    }

    private static CheckpointLoadReport LoadAndDispose(nn.Module module, Dictionary<string, Tensor> weights, string encoderPrefix, string source)
    {
        try
        {
            return Load(module, weights, encoderPrefix, source);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    private static bool IsEncoderKey(string key) =>
        key.StartsWith("embeddings.", StringComparison.Ordinal) || key.StartsWith("encoder.", StringComparison.Ordinal) ||
        key.StartsWith("pooler.", StringComparison.Ordinal);
}
