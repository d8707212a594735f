using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class ShardedSafeTensorsTests
{
    /// <summary>bert-tiny split into three shards (round-robin by key) with an index, as save_pretrained(max_shard_size) writes.</summary>
    private static (string Folder, Dictionary<string, string> Map) ShardedBertTiny()
    {
        var folder = TestCheckpoints.NewFolder();
        var source = EncoderParityTests.Checkpoint("bert-tiny");
        foreach (var f in Directory.GetFiles(source).Where(f => !f.EndsWith("model.safetensors", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        }
        var all = SafeTensors.Load(Path.Combine(source, "model.safetensors"));
        var keys = all.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var map = new Dictionary<string, string>();
        for (int s = 0; s < 3; s++)
        {
            var name = $"model-0000{s + 1}-of-00003.safetensors";
            var part = keys.Where((_, i) => i % 3 == s).ToList();
            TestCheckpoints.WriteSafeTensors(Path.Combine(folder, name), part.Select(k => KeyValuePair.Create(k, all[k])));
            foreach (var k in part)
            {
                map[k] = name;
            }
        }
        WriteIndex(folder, map);
        return (folder, map);
    }

    private static void WriteIndex(string folder, Dictionary<string, string> map) =>
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));

    [TestMethod]
    public void ShardedCheckpointEncodesLikeTheSingleFile()
    {
        var (folder, _) = ShardedBertTiny();
        Assert.IsFalse(File.Exists(Path.Combine(folder, "model.safetensors")));
        using var sharded = TransformerTextEncoder.FromPretrained(folder);
        using var single = TransformerTextEncoder.FromPretrained(EncoderParityTests.Checkpoint("bert-tiny"));
        using var a = sharded.Encode(new[] { "the cat sat on the mat", "hello" });
        using var b = single.Encode(new[] { "the cat sat on the mat", "hello" });
        Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(a, b));
        CollectionAssert.AreEquivalent(single.LoadReport!.Unexpected.ToList(), sharded.LoadReport!.Unexpected.ToList());
    }

    [TestMethod]
    public void IndexListingAKeyItsShardLacksNamesKeyAndShard()
    {
        var (folder, map) = ShardedBertTiny();
        var key = map.Keys.First(k => map[k] == "model-00001-of-00003.safetensors");
        map[key] = "model-00002-of-00003.safetensors";
        WriteIndex(folder, map);
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(ex.Message, key);
        StringAssert.Contains(ex.Message, "model-00001-of-00003.safetensors");
        StringAssert.Contains(ex.Message, "model.safetensors.index.json");
    }

    [TestMethod]
    public void KeyInTwoShardsIsAnError()
    {
        var (folder, map) = ShardedBertTiny();
        var key = map.Keys.First(k => map[k] == "model-00001-of-00003.safetensors");
        var all = SafeTensors.Load(Path.Combine(EncoderParityTests.Checkpoint("bert-tiny"), "model.safetensors"));
        var second = map.Where(kv => kv.Value == "model-00002-of-00003.safetensors").Select(kv => kv.Key).Append(key);
        TestCheckpoints.WriteSafeTensors(Path.Combine(folder, "model-00002-of-00003.safetensors"), second.Select(k => KeyValuePair.Create(k, all[k])));
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(ex.Message, key);
        StringAssert.Contains(ex.Message, "two shards");
    }

    [TestMethod]
    public void MissingShardAndKeysNotInTheIndexAreErrors()
    {
        var (folder, map) = ShardedBertTiny();
        File.Delete(Path.Combine(folder, "model-00003-of-00003.safetensors"));
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(missing.Message, "model-00003-of-00003.safetensors");

        (folder, map) = ShardedBertTiny();
        var dropped = map.Keys.First();
        map.Remove(dropped);
        WriteIndex(folder, map);
        var unlisted = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(unlisted.Message, dropped);
        StringAssert.Contains(unlisted.Message, "does not list");

        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), """{"metadata": {}}""");
        var noMap = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(noMap.Message, "weight_map");
    }
}
