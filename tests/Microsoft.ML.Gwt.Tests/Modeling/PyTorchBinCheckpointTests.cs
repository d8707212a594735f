using System.IO.Compression;
using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary><c>pytorch_model.bin</c> checkpoints (TestData/checkpoints/make_bin_checkpoints.py): loaded weights-only
/// exactly like safetensors, refused with a clear error when the pickle holds anything but tensors.</summary>
[TestClass]
public sealed class PyTorchBinCheckpointTests
{
    private const string Marker = "/tmp/gwt-pickle-pwned"; // what the refused pickles would create if anything ran them

    private static string Refused(string name) => Path.Combine(EncoderParityTests.Checkpoint("pickle-refused"), name);

    private static (Tensor Ids, Tensor Mask, Tensor Types) Batch()
    {
        long[] ids = { 2, 14, 15, 3, 5, 6, 3, 2, 5, 10, 11, 3, 0, 0 };
        long[] mask = ids.Select(i => i == 0 ? 0L : 1L).ToArray();
        long[] types = { 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 };
        return (tensor(ids, new long[] { 2, 7 }), tensor(mask, new long[] { 2, 7 }), tensor(types, new long[] { 2, 7 }));
    }

    /// <summary>Hidden states and logits of a folder's encoder and classifier (2 labels).</summary>
    private static (Tensor Hidden, Tensor Logits, CheckpointLoadReport Report) Run(string folder)
    {
        var (ids, mask, types) = Batch();
        using (ids)
        using (mask)
        using (types)
        using (no_grad())
        {
            var (encoder, report) = CheckpointLoader.LoadEncoder(folder);
            using (encoder)
            {
                encoder.eval();
                var hidden = encoder.Forward(ids, mask, types);
                using var model = new TextClassificationModel(CheckpointLoader.ReadConfig(folder), 2);
                var classifierReport = CheckpointLoader.LoadClassifier(model, folder);
                Assert.IsEmpty(classifierReport.Missing, classifierReport.ToString());
                model.eval();
                return (hidden, model.Forward(ids, mask, types), report);
            }
        }
    }

    [TestMethod]
    [DataRow("bert-bin-tiny")]
    [DataRow("bert-bin-legacy-tiny")]
    [DataRow("bert-bin-sharded-tiny")]
    public void BinFolderGivesTheSameOutputsAsTheSafetensorsOfTheSameWeights(string name)
    {
        var bin = EncoderParityTests.Checkpoint(name);
        Assert.IsFalse(File.Exists(Path.Combine(bin, "model.safetensors")));
        Assert.IsFalse(File.Exists(Path.Combine(bin, "model.safetensors.index.json")));
        var (h1, l1, r1) = Run(bin);
        var (h2, l2, r2) = Run(EncoderParityTests.Checkpoint("bert-sharded-tiny"));
        using (h1)
        using (l1)
        using (h2)
        using (l2)
        {
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(h1, h2), "hidden states");
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(l1, l2), "logits");
        }
        CollectionAssert.AreEqual(r2.Missing.ToList(), r1.Missing.ToList());
        CollectionAssert.AreEqual(r2.Unexpected.ToList(), r1.Unexpected.ToList());
    }

    [TestMethod]
    public void Float16AndBFloat16StoragesLoadLikeTheirSafetensorsTwin()
    {
        var folder = EncoderParityTests.Checkpoint("bert-bin-halfs-tiny");
        using (var file = new PyTorchBinFile(Path.Combine(folder, "pytorch_model.bin")))
        {
            Assert.AreEqual(ScalarType.Float16, file.StoredType("bert.embeddings.word_embeddings.weight"));
            Assert.AreEqual(ScalarType.Float16, file.StoredType("cls.predictions.decoder.weight"));
            Assert.AreEqual(ScalarType.BFloat16, file.StoredType("bert.encoder.layer.1.attention.self.query.weight"));
            Assert.AreEqual(ScalarType.Float32, file.StoredType("bert.encoder.layer.1.attention.self.query.bias"));
            Assert.AreEqual(ScalarType.Int64, file.StoredType("bert.embeddings.position_ids"));
        }
        var (h1, l1, r1) = Run(folder);
        var (h2, l2, r2) = Run(Path.Combine(folder, "safetensors"));
        using (h1)
        using (l1)
        using (h2)
        using (l2)
        {
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(h1, h2), "hidden states");
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(l1, l2), "logits");
        }
        CollectionAssert.Contains(r1.Unexpected.ToList(), "cls.predictions.decoder.weight", "the tied key is listed and reported unused, as in safetensors");
        CollectionAssert.AreEqual(r2.Unexpected.ToList(), r1.Unexpected.ToList());
    }

    /// <summary>Every tensor, views included (slices of a fused storage, a transposed view, a strided view with an
    /// offset; in both formats), read into float32, float64 and non-contiguous destinations, equals the safetensors value.</summary>
    [TestMethod]
    [DataRow("bert-bin-tiny")]
    [DataRow("bert-bin-legacy-tiny")]
    public void ViewsAndStridedStoragesReadTheirOwnElements(string name)
    {
        using var bin = new PyTorchBinFile(Path.Combine(EncoderParityTests.Checkpoint(name), "pytorch_model.bin"));
        using var reference = ShardedSafeTensors.OpenIndex(Path.Combine(EncoderParityTests.Checkpoint("bert-sharded-tiny"), ShardedSafeTensors.IndexFileName));
        CollectionAssert.AreEquivalent(reference.Keys.ToList(), bin.Keys.ToList());
        foreach (var key in reference.Keys)
        {
            CollectionAssert.AreEqual(reference.Shape(key), bin.Shape(key), key);
            using var expected = empty(reference.Shape(key));
            reference.ReadInto(key, expected);
            using var direct = empty(bin.Shape(key));
            bin.ReadInto(key, direct);
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(direct, expected), key);
            using var wide = empty(bin.Shape(key), ScalarType.Float64);
            bin.ReadInto(key, wide);
            using var narrowed = wide.to_type(ScalarType.Float32);
            Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(narrowed, expected), key + " as float64");
            if (bin.Shape(key).Length == 2)
            {
                var s = bin.Shape(key);
                using var backing = empty(s[1], s[0]);
                using var strided = backing.t(); // a non-contiguous destination
                bin.ReadInto(key, strided);
                Assert.AreEqual(0.0, TestCheckpoints.MaxDiff(strided, expected), key + " into a transposed destination");
            }
        }
    }

    [TestMethod]
    [DataRow("posix-system.bin", "posix.system")]
    [DataRow("stack-global.bin", "posix.system")]
    [DataRow("legacy-posix-system.bin", "posix.system")]
    [DataRow("builtin-eval.bin", "__builtin__.eval")]
    [DataRow("builtin-getattr.bin", "__builtin__.getattr")]
    [DataRow("nn-module.bin", "torch.nn.modules.linear.Linear")]
    public void PickleWithAnythingButTensorsIsRefusedNamingTheFileAndTheGlobal(string file, string global)
    {
        File.Delete(Marker);
        var path = Refused(file);
        var stats = DisposeScopeManager.Statistics.TensorStatistics;
        long created = stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount;
        var ex = Assert.ThrowsExactly<UnsafeCheckpointException>(() => new PyTorchBinFile(path).Dispose());
        Assert.AreEqual(created, stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount, "no tensor is made for a refused file");
        Console.WriteLine(ex.Message);
        Assert.AreEqual(path, ex.FilePath);
        Assert.AreEqual(global, ex.Refused);
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, $"'{global}'");
        StringAssert.Contains(ex.Message, "collections.OrderedDict, torch._utils._rebuild_tensor_v2");
        Assert.IsFalse(File.Exists(Marker));

        // Through a checkpoint folder, as PretrainedModelPath reads it.
        var folder = TestCheckpoints.NewFolder();
        foreach (var f in new[] { "config.json", "vocab.txt", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(EncoderParityTests.Checkpoint("bert-bin-tiny"), f), Path.Combine(folder, f));
        }
        File.Copy(path, Path.Combine(folder, "pytorch_model.bin"));
        var viaFolder = Assert.ThrowsExactly<UnsafeCheckpointException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(viaFolder.Message, Path.Combine(folder, "pytorch_model.bin"));
        Assert.AreEqual(global, viaFolder.Refused);
        Assert.IsFalse(File.Exists(Marker));
    }

    [TestMethod]
    public void PlainValueWhereATensorShouldBeNamesTheKey()
    {
        var path = Refused("not-a-state-dict.bin");
        var ex = Assert.ThrowsExactly<FormatException>(() => new PyTorchBinFile(path).Dispose());
        StringAssert.Contains(ex.Message, path);
        StringAssert.Contains(ex.Message, "'step' holds an integer, not a tensor");
    }

    [TestMethod]
    [DataRow("bert-bin-tiny")]
    [DataRow("bert-bin-legacy-tiny")]
    public void TruncatedOrCorruptedFileIsAFormatErrorNamingTheFile(string name)
    {
        var original = File.ReadAllBytes(Path.Combine(EncoderParityTests.Checkpoint(name), "pytorch_model.bin"));
        var folder = TestCheckpoints.NewFolder();
        var path = Path.Combine(folder, "pytorch_model.bin");
        foreach (int length in new[] { 0, 3, 10, 200, original.Length / 2, original.Length - 1 })
        {
            File.WriteAllBytes(path, original[..length]);
            var ex = Assert.Throws<FormatException>(() =>
            {
                using var file = new PyTorchBinFile(path);
                foreach (var key in file.Keys)
                {
                    using var t = empty(file.Shape(key));
                    file.ReadInto(key, t);
                }
            }, $"{name} cut to {length} bytes");
            StringAssert.Contains(ex.Message, path);
        }
    }

    [TestMethod]
    public void ZipWithADamagedPickleOrAMissingStorageIsAFormatErrorNamingTheFile()
    {
        var source = Path.Combine(EncoderParityTests.Checkpoint("bert-bin-tiny"), "pytorch_model.bin");
        var folder = TestCheckpoints.NewFolder();
        var path = Path.Combine(folder, "pytorch_model.bin");

        void Rewrite(Func<string, byte[], byte[]?> change)
        {
            using var input = ZipFile.OpenRead(source);
            using var output = ZipFile.Open(path, ZipArchiveMode.Create);
            foreach (var entry in input.Entries)
            {
                using var ms = new MemoryStream();
                using (var s = entry.Open())
                {
                    s.CopyTo(ms);
                }
                var bytes = change(entry.FullName, ms.ToArray());
                if (bytes is not null)
                {
                    using var w = output.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                    w.Write(bytes);
                }
            }
        }

        File.Delete(path);
        Rewrite((name, bytes) => name.EndsWith("/data.pkl", StringComparison.Ordinal) ? bytes[..(bytes.Length / 2)] : bytes);
        var truncated = Assert.Throws<FormatException>(() => new PyTorchBinFile(path).Dispose());
        StringAssert.Contains(truncated.Message, path);
        StringAssert.Contains(truncated.Message, "truncated");

        File.Delete(path);
        Rewrite((name, bytes) => name.EndsWith("/data/3", StringComparison.Ordinal) ? null : bytes);
        var missing = Assert.ThrowsExactly<FormatException>(() => new PyTorchBinFile(path).Dispose());
        StringAssert.Contains(missing.Message, path);
        StringAssert.Contains(missing.Message, "data/3");

        File.Delete(path);
        Rewrite((name, bytes) => name.EndsWith("/data/3", StringComparison.Ordinal) ? bytes[..^4] : bytes);
        var shortRecord = Assert.ThrowsExactly<FormatException>(() => new PyTorchBinFile(path).Dispose());
        StringAssert.Contains(shortRecord.Message, path);
        StringAssert.Contains(shortRecord.Message, "damaged");
    }

    [TestMethod]
    public void SafetensorsWinOverBinAndARenamedFileIsNotTakenForPickle()
    {
        var folder = TestCheckpoints.NewFolder();
        foreach (var f in Directory.GetFiles(EncoderParityTests.Checkpoint("bert-tiny")))
        {
            File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        }
        File.Copy(Refused("posix-system.bin"), Path.Combine(folder, "pytorch_model.bin"));
        Assert.AreEqual(Path.Combine(folder, "model.safetensors"), CheckpointLoader.WeightsPath(folder));
        using (TransformerTextEncoder.FromPretrained(folder))
        {
        }
        File.Delete(Path.Combine(folder, "pytorch_model.bin"));
        File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "pytorch_model.bin"));
        var ex = Assert.ThrowsExactly<FormatException>(() => TransformerTextEncoder.FromPretrained(folder));
        StringAssert.Contains(ex.Message, Path.Combine(folder, "pytorch_model.bin"));
        StringAssert.Contains(ex.Message, "not a PyTorch checkpoint");
    }
}
