using System.Text.Json;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A checkpoint split into several files by <c>save_pretrained(max_shard_size=...)</c>:
/// <c>model.safetensors.index.json</c> (safetensors shards) or <c>pytorch_model.bin.index.json</c> (PyTorch shards,
/// read by <see cref="PyTorchBinFile"/>) maps every key to its shard (<c>{"weight_map": {key: file}}</c>). The index is
/// validated before any tensor is read: every shard it names exists and is a valid safetensors file, and every key
/// lies in exactly one shard, the one the index names.
/// </summary>
internal sealed class ShardedSafeTensors : CheckpointTensors
{
    /// <summary>The index file name Hugging Face writes.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The index file name Hugging Face writes for PyTorch (<c>.bin</c>) shards.</summary>
    public const string BinIndexFileName = "pytorch_model.bin.index.json";

    /// <summary>True when <paramref name="path"/> names a shard index of either kind.</summary>
    public static bool IsIndex(string path) =>
        path.EndsWith(IndexFileName, StringComparison.Ordinal) || path.EndsWith(BinIndexFileName, StringComparison.Ordinal);

    private readonly List<CheckpointTensors> _shards;
    private readonly Dictionary<string, CheckpointTensors> _byKey;

    private ShardedSafeTensors(string indexPath, List<CheckpointTensors> shards, Dictionary<string, CheckpointTensors> byKey)
    {
        Source = indexPath;
        _shards = shards;
        _byKey = byKey;
    }

    public override string Source { get; }

    public override IReadOnlyCollection<string> Keys => _byKey.Keys;

    /// <summary>The shard files, in index order.</summary>
    public IReadOnlyList<string> ShardPaths => _shards.Select(s => s.Source).ToList();

    public override long[] Shape(string key) => _byKey[key].Shape(key);

    public override long ReadOrder(string key) => _byKey[key].ReadOrder(key);

    public override void ReadInto(string key, Tensor destination) => _byKey[key].ReadInto(key, destination);

    public override void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }

    /// <summary>Reads and validates an index and opens its shards.</summary>
    /// <exception cref="FormatException">The index is malformed, names a shard twice for a key, or a shard's keys
    /// disagree with the index; the message names the index, the key and the shards.</exception>
    /// <exception cref="FileNotFoundException">A shard the index names does not exist.</exception>
    public static ShardedSafeTensors OpenIndex(string indexPath)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var weightMap = ReadWeightMap(indexPath);
        var files = weightMap.Values.Distinct(StringComparer.Ordinal).OrderBy(f => f, StringComparer.Ordinal).ToList();
        bool bin = indexPath.EndsWith(BinIndexFileName, StringComparison.Ordinal);
        var shards = new List<CheckpointTensors>();
        try
        {
            foreach (var file in files)
            {
                var path = Path.Combine(folder, file);
                if (file.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(file) || Path.GetDirectoryName(Path.GetFullPath(path)) != folder)
                {
                    throw new FormatException($"'{indexPath}' names shard '{file}' outside the checkpoint folder.");
                }
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"'{indexPath}' names shard '{file}', which does not exist in '{folder}'.", path);
                }
                shards.Add(bin ? new PyTorchBinFile(path, shards.Count) : new SafeTensorFile(path, shards.Count));
            }
            var byKey = new Dictionary<string, CheckpointTensors>(StringComparer.Ordinal);
            foreach (var shard in shards)
            {
                var name = Path.GetFileName(shard.Source);
                foreach (var key in shard.Keys)
                {
                    if (byKey.TryGetValue(key, out var other))
                    {
                        throw new FormatException($"'{indexPath}': tensor '{key}' is in two shards, '{Path.GetFileName(other.Source)}' and '{name}'.");
                    }
                    if (!weightMap.TryGetValue(key, out var expected))
                    {
                        throw new FormatException($"'{indexPath}': shard '{name}' holds tensor '{key}', which the index does not list.");
                    }
                    if (expected != name)
                    {
                        throw new FormatException($"'{indexPath}' puts tensor '{key}' in '{expected}' but it is in '{name}'.");
                    }
                    byKey[key] = shard;
                }
            }
            var absent = weightMap.Keys.Where(k => !byKey.ContainsKey(k)).ToList();
            if (absent.Count > 0)
            {
                throw new FormatException(
                    $"'{indexPath}' lists {absent.Count} tensor(s) that are not in their shard: {string.Join(", ", absent.Take(5).Select(k => $"'{k}' (in '{weightMap[k]}')"))}.");
            }
            return new ShardedSafeTensors(indexPath, shards, byKey);
        }
        catch
        {
            foreach (var shard in shards)
            {
                shard.Dispose();
            }
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(indexPath));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"'{indexPath}' is not valid JSON: {ex.Message}", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) ||
                map.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"'{indexPath}' has no \"weight_map\" object.");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                {
                    throw new FormatException($"'{indexPath}': the shard of tensor '{entry.Name}' is not a file name.");
                }
                var file = entry.Value.GetString()!;
                if (result.TryGetValue(entry.Name, out var earlier) && earlier != file)
                {
                    throw new FormatException($"'{indexPath}' puts tensor '{entry.Name}' in two shards, '{earlier}' and '{file}'.");
                }
                result[entry.Name] = file;
            }
            if (result.Count == 0)
            {
                throw new FormatException($"'{indexPath}' has an empty \"weight_map\".");
            }
            return result;
        }
    }
}
