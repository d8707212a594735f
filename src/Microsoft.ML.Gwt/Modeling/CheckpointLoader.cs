using Microsoft.ML.Gwt.Training;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>What loading a checkpoint into a module did: keys the module wanted but the checkpoint lacked (left at
/// their initialization), checkpoint keys the module does not use, and whether a classifier's head was
/// re-initialized because the checkpoint was fine-tuned on another number of labels.</summary>
/// <param name="Missing">Module parameter names not found in the checkpoint.</param>
/// <param name="Unexpected">Checkpoint keys that match no module parameter.</param>
public sealed record CheckpointLoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>True when the checkpoint's classification head was trained for <see cref="CheckpointLabelCount"/>
    /// labels, not the model's <see cref="ModelLabelCount"/>, so the head kept its fresh initialization.</summary>
    public bool ReinitializedHead { get; init; }

    /// <summary>The number of labels of the checkpoint's classification head; null when it has none.</summary>
    public int? CheckpointLabelCount { get; init; }

    /// <summary>The number of labels of the model loaded into; null for an encoder alone.</summary>
    public int? ModelLabelCount { get; init; }

    /// <summary>One line per finding (empty when everything matched).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            var lines = new List<string>();
            if (ReinitializedHead)
            {
                lines.Add($"Re-initialized the classification head: the checkpoint's head has {CheckpointLabelCount} labels, the task has {ModelLabelCount}.");
            }
            if (Missing.Count > 0)
            {
                lines.Add($"Initialized from scratch (not in the checkpoint): {string.Join(", ", Missing)}.");
            }
            if (Unexpected.Count > 0)
            {
                lines.Add($"Unused checkpoint tensors: {string.Join(", ", Unexpected)}.");
            }
            return lines;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Lines.Count == 0 ? "Every weight loaded from the checkpoint." : string.Join(Environment.NewLine, Lines);
}

/// <summary>Loads Hugging Face checkpoint folders (<c>config.json</c> + <c>model.safetensors</c>, sharded safetensors,
/// or <c>pytorch_model.bin</c> read weights-only) into our modules, tensor by tensor.</summary>
public static class CheckpointLoader
{
    /// <summary>Reads <c>config.json</c> of a checkpoint folder, with clear errors for a missing folder or file.</summary>
    /// <exception cref="NotSupportedException">The model type is not supported; the message names it and the supported ones.</exception>
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

    /// <summary>The weights file of a checkpoint folder, in Hugging Face's order of preference: <c>model.safetensors</c>,
    /// the shard index <c>model.safetensors.index.json</c>, <c>pytorch_model.bin</c>, the shard index
    /// <c>pytorch_model.bin.index.json</c>. A <c>.bin</c> file is read weights-only: its pickle may hold only tensors
    /// and plain containers (<see cref="PyTorchCheckpoint.AllowedGlobals"/>), else loading throws
    /// <see cref="UnsafeCheckpointException"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder has none of these files.</exception>
    public static string WeightsPath(string folder)
    {
        foreach (var name in WeightsFileNames)
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        var path = Path.Combine(folder, "model.safetensors");
        throw new FileNotFoundException($"The checkpoint folder '{folder}' has no weights ({string.Join(", ", WeightsFileNames)}).", path);
    }

    private static readonly string[] WeightsFileNames =
        { "model.safetensors", ShardedSafeTensors.IndexFileName, "pytorch_model.bin", ShardedSafeTensors.BinIndexFileName };

    /// <summary>Loads a checkpoint folder's encoder (config, weights; no tokenizer) for its family.</summary>
    public static (TransformerEncoder Encoder, CheckpointLoadReport Report) LoadEncoder(string folder)
    {
        var config = ReadConfig(folder);
        TransformerEncoder encoder;
        using (RunRandom.Borrow()) // its random initialization is overwritten: neither a training run's draws nor the caller's change
        {
            encoder = TransformerEncoder.Create(config, addPooler: config.Family == TransformerFamily.Bert);
        }
        try
        {
            var holder = new TransformerEncoder.Container();
            holder.Add(config.EncoderPrefix, encoder);
            using var tensors = CheckpointTensors.Open(folder);
            return (encoder, Load(holder, tensors, config.EncoderPrefix, skip: null));
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a checkpoint folder's weights into a classifier. The encoder must be complete. A
    /// <c>*ForSequenceClassification</c> head loads when its label count is the model's; with another count the head
    /// keeps its initialization and the report says so (<see cref="CheckpointLoadReport.ReinitializedHead"/>).
    /// </summary>
    public static CheckpointLoadReport LoadClassifier(TextClassificationModel model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var tensors = CheckpointTensors.Open(folder);
        return LoadClassifier(model, tensors);
    }

    internal static CheckpointLoadReport LoadClassifier(TextClassificationModel model, CheckpointTensors tensors)
    {
        var keys = NormalizeKeys(model, tensors.Keys, model.EncoderPrefix);
        int? checkpointLabels = keys.TryGetValue(model.Head.ClassifierWeightName, out var classifierKey)
            ? (int)tensors.Shape(classifierKey)[0] : null;
        bool reinitialize = checkpointLabels is int n && n != model.NumClasses;
        var report = Load(model, tensors, model.EncoderPrefix, reinitialize ? model.HeadParameterNames.ToHashSet(StringComparer.Ordinal) : null);
        return report with { ReinitializedHead = reinitialize, CheckpointLabelCount = checkpointLabels, ModelLabelCount = model.NumClasses };
    }

    /// <summary>
    /// Copies checkpoint tensors into <paramref name="module"/>'s parameters by name. Keys may carry the
    /// <paramref name="encoderPrefix"/> (<c>bert.</c>, <c>distilbert.</c>, ...) or not; old LayerNorm names
    /// (<c>gamma</c>/<c>beta</c>) are accepted. A shape mismatch is an error naming the key and both shapes. Missing
    /// encoder weights are an error (BERT's pooler excepted); missing head weights and unused keys are reported.
    /// </summary>
    public static CheckpointLoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> checkpoint, string encoderPrefix, string source)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Load(module, new InMemoryTensors(checkpoint, source), encoderPrefix, skip: null);
    }

    /// <summary>Loads a weights file into <paramref name="module"/>, tensor by tensor: safetensors, a PyTorch
    /// <c>.bin</c> (<c>.pt</c>, <c>.pth</c>) state dict read weights-only, or a shard index of either.</summary>
    /// <exception cref="UnsafeCheckpointException">A <c>.bin</c> file's pickle holds more than tensors.</exception>
    public static CheckpointLoadReport LoadFile(nn.Module module, string weightsPath, string encoderPrefix)
    {
        using CheckpointTensors tensors = CheckpointTensors.OpenFile(weightsPath);
        return Load(module, tensors, encoderPrefix, skip: null);
    }

    private static CheckpointLoadReport Load(nn.Module module, CheckpointTensors tensors, string encoderPrefix, ISet<string>? skip)
    {
        ArgumentNullException.ThrowIfNull(module);
        var keys = NormalizeKeys(module, tensors.Keys, encoderPrefix);
        var missing = new List<string>();
        var plan = new List<(string Key, Tensor Parameter)>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (skip?.Contains(name) == true)
            {
                used.Add(name);
                continue;
            }
            if (!keys.TryGetValue(name, out var key))
            {
                missing.Add(name);
                continue;
            }
            var shape = tensors.Shape(key);
            if (!shape.SequenceEqual(parameter.shape))
            {
                throw new FormatException(
                    $"'{tensors.Source}': tensor '{key}' has shape [{string.Join(", ", shape)}] but the model's " +
                    $"'{name}' has shape [{string.Join(", ", parameter.shape)}] (check config.json against the weights).");
            }
            plan.Add((key, parameter));
            used.Add(name);
        }
        var unexpected = keys.Where(kv => !used.Contains(kv.Key)).Select(kv => kv.Value).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var fatal = missing.Where(m => m.StartsWith(encoderPrefix + ".", StringComparison.Ordinal) && !m.StartsWith(encoderPrefix + ".pooler.", StringComparison.Ordinal)).ToList();
        if (fatal.Count > 0)
        {
            throw new FormatException(
                $"'{tensors.Source}' lacks {fatal.Count} encoder weight(s): {string.Join(", ", fatal.Take(10))}{(fatal.Count > 10 ? ", ..." : "")}. " +
                (unexpected.Count > 0 ? $"Unused keys in the file: {string.Join(", ", unexpected.Take(10))}." : ""));
        }
        using (torch.no_grad())
        {
            // In file order, so the reads go forward through each file.
            foreach (var (key, parameter) in plan.OrderBy(p => tensors.ReadOrder(p.Key)))
            {
                tensors.ReadInto(key, parameter);
            }
        }
        return new CheckpointLoadReport(missing, unexpected);
    }

    /// <summary>Maps module parameter names to checkpoint keys: drops <c>position_ids</c> buffers, renames
    /// <c>gamma</c>/<c>beta</c>, and prefixes keys saved from a bare base model (first segment one of the encoder's
    /// children) with <paramref name="encoderPrefix"/>.</summary>
    private static Dictionary<string, string> NormalizeKeys(nn.Module module, IEnumerable<string> keys, string encoderPrefix)
    {
        var encoderChildren = module.named_children().Where(c => c.name == encoderPrefix)
            .SelectMany(c => c.module.named_children().Select(cc => cc.name)).ToHashSet(StringComparer.Ordinal);
        var normalized = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (key.EndsWith("position_ids", StringComparison.Ordinal))
            {
                continue; // Hugging Face's non-persistent buffer, sometimes saved
            }
            var k = key.Replace(".gamma", ".weight", StringComparison.Ordinal).Replace(".beta", ".bias", StringComparison.Ordinal);
            int dot = k.IndexOf('.', StringComparison.Ordinal);
            if (!k.StartsWith(encoderPrefix + ".", StringComparison.Ordinal) && dot > 0 && encoderChildren.Contains(k[..dot]))
            {
                k = encoderPrefix + "." + k;
            }
            normalized[k] = key;
        }
        return normalized;
    }
}
