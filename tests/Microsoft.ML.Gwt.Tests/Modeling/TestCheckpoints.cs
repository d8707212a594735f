using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>Small configurations of every family and checkpoint folders written from our own modules (for loader
/// mechanics: prefixes, dtypes, shards, heads; numerical parity is checked against committed reference outputs).</summary>
internal static class TestCheckpoints
{
    public const int Hidden = 32, Layers = 2, Intermediate = 64, Vocab = 50;

    public static readonly string[] ModelTypes = { "bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "deberta-v2" };

    /// <summary>A 2-layer, 32-wide configuration of <paramref name="modelType"/> (DeBERTa: relative attention with
    /// c2p and p2c, 8 buckets, no absolute positions, as v3).</summary>
    public static TransformerConfig Config(string modelType, bool shareAttKey = false)
    {
        var json = modelType switch
        {
            "distilbert" => $$"""{"model_type": "distilbert", "vocab_size": {{Vocab}}, "dim": {{Hidden}}, "n_layers": {{Layers}}, "n_heads": 4, "hidden_dim": {{Intermediate}}, "max_position_embeddings": 40}""",
            "electra" => $$"""{"model_type": "electra", "vocab_size": {{Vocab}}, "embedding_size": 16, "hidden_size": {{Hidden}}, "num_hidden_layers": {{Layers}}, "num_attention_heads": 4, "intermediate_size": {{Intermediate}}, "max_position_embeddings": 40}""",
            "deberta-v2" => $$"""{"model_type": "deberta-v2", "vocab_size": {{Vocab}}, "hidden_size": {{Hidden}}, "num_hidden_layers": {{Layers}}, "num_attention_heads": 4, "intermediate_size": {{Intermediate}}, "max_position_embeddings": 40, "relative_attention": true, "position_buckets": 8, "norm_rel_ebd": "layer_norm", "share_att_key": {{(shareAttKey ? "true" : "false")}}, "pos_att_type": "p2c|c2p", "position_biased_input": false, "type_vocab_size": 0}""",
            "bert" => $$"""{"model_type": "bert", "vocab_size": {{Vocab}}, "hidden_size": {{Hidden}}, "num_hidden_layers": {{Layers}}, "num_attention_heads": 4, "intermediate_size": {{Intermediate}}, "max_position_embeddings": 40}""",
            _ => $$"""{"model_type": "{{modelType}}", "vocab_size": {{Vocab}}, "hidden_size": {{Hidden}}, "num_hidden_layers": {{Layers}}, "num_attention_heads": 4, "intermediate_size": {{Intermediate}}, "max_position_embeddings": 42}""",
        };
        return TransformerConfig.FromJson(json, modelType);
    }

    private static readonly Lazy<string> Root = new(() => Directory.CreateTempSubdirectory("gwt-checkpoints-").FullName);

    /// <summary>A fresh temporary folder (under one root that <see cref="TestCheckpointsCleanup"/> deletes after the run).</summary>
    public static string NewFolder() => Directory.CreateDirectory(Path.Combine(Root.Value, Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>Deletes every folder <see cref="NewFolder"/> made.</summary>
    public static void DeleteAll()
    {
        if (Root.IsValueCreated && Directory.Exists(Root.Value))
        {
            Directory.Delete(Root.Value, recursive: true);
        }
    }

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> of <paramref name="tensors"/> (stored as
    /// <paramref name="dtype"/>: F32, F16 or BF16).</summary>
    public static string WriteFolder(TransformerConfig config, IEnumerable<KeyValuePair<string, Tensor>> tensors, string dtype = "F32", string? folder = null)
    {
        folder ??= NewFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        WriteSafeTensors(Path.Combine(folder, "model.safetensors"), tensors, dtype);
        return folder;
    }

    /// <summary>A safetensors writer independent of the library's (which writes F32 only).</summary>
    public static void WriteSafeTensors(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, string dtype = "F32")
    {
        var type = dtype switch { "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16, _ => ScalarType.Float32 };
        var header = new Dictionary<string, object>();
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            using var converted = tensor.detach().to(type).contiguous();
            var bytes = converted.bytes.ToArray();
            header[name] = new { dtype, shape = tensor.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        file.Write(length);
        file.Write(json);
        foreach (var blob in blobs)
        {
            file.Write(blob);
        }
    }

    /// <summary>A padded batch: rows of 7, 4 and 2 real tokens (ids 5..), padding id <paramref name="padId"/>.</summary>
    public static (Tensor Ids, Tensor Mask) PaddedBatch(int padId)
    {
        int[] lengths = { 7, 4, 2 };
        var ids = new long[3 * 7];
        var mask = new long[3 * 7];
        for (int r = 0; r < 3; r++)
        {
            for (int t = 0; t < 7; t++)
            {
                bool real = t < lengths[r];
                ids[r * 7 + t] = real ? 5 + (r * 7 + t * 3) % (Vocab - 5) : padId;
                mask[r * 7 + t] = real ? 1 : 0;
            }
        }
        return (tensor(ids, new long[] { 3, 7 }), tensor(mask, new long[] { 3, 7 }));
    }

    /// <summary>Largest absolute difference.</summary>
    public static double MaxDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }
}

[TestClass]
public static class TestCheckpointsCleanup
{
    [AssemblyCleanup]
    public static void DeleteTemporaryCheckpoints() => TestCheckpoints.DeleteAll();
}
