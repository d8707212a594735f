using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Tests.Onnx;
using Microsoft.ML.Gwt.Tests.Trainers;
using Microsoft.ML.Gwt.Trainers;
using TorchSharp;

namespace Microsoft.ML.Gwt.Tests.Reliability;

[TestClass]
[DoNotParallelize]
public sealed class ModelFileTests
{
    private static byte[] SavedModel()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        using var ms = new MemoryStream();
        ml.Model.Save(model, test.Schema, ms);
        return ms.ToArray();
    }

    /// <summary>Rewrites one entry of the model's zip (the one of our transformer whose name ends with
    /// <paramref name="entry"/>), changing its uncompressed bytes with <paramref name="edit"/>.</summary>
    internal static byte[] EditEntry(byte[] zip, string entry, Action<byte[]> edit)
    {
        using var ms = new MemoryStream();
        ms.Write(zip);
        using (var archive = new ZipArchive(ms, ZipArchiveMode.Update, leaveOpen: true))
        {
            var weights = archive.Entries.Single(e => e.Name == "Weights");
            string dir = weights.FullName[..^"Weights".Length];
            var target = archive.GetEntry(dir + entry) ?? throw new InvalidOperationException($"no entry {dir + entry}");
            byte[] content;
            using (var s = target.Open())
            using (var copy = new MemoryStream())
            {
                s.CopyTo(copy);
                content = copy.ToArray();
            }
            edit(content);
            target.Delete();
            using var w = archive.CreateEntry(dir + entry).Open();
            w.Write(content);
        }
        return ms.ToArray();
    }

    private static Exception LoadFails(byte[] bytes)
    {
        try
        {
            new MLContext(1).Model.Load(new MemoryStream(bytes), out _);
        }
        catch (Exception ex)
        {
            return ex;
        }
        Assert.Fail("the damaged model loaded");
        return null!;
    }

    [TestMethod]
    [DataRow("Model.key", "settings")]
    [DataRow("Config", "encoder config (entry 'Config')")]
    [DataRow("Tokenizer", "tokenizer (entry 'Tokenizer')")]
    [DataRow("Labels", "label values (entry 'Labels')")]
    [DataRow("Weights", "weights (entry 'Weights')")]
    [DataRow("Checksums", "checksum table ('Checksums')")]
    public void EachDamagedPartIsAnInvalidDataExceptionNamingIt(string entry, string named)
    {
        // One byte changed inside the part's content (for Model.key: inside the settings, after ML.NET's 256-byte header).
        var damaged = EditEntry(SavedModel(), entry, b => b[entry == "Model.key" ? 0x100 + 6 : b.Length / 2] ^= 0x10);
        var (inner, layers) = ModelFileErrors.Unwrap(LoadFails(damaged));
        Assert.IsInstanceOfType<InvalidDataException>(inner, inner.ToString());
        StringAssert.Contains(inner.Message, "The model file is damaged");
        StringAssert.Contains(inner.Message, named);
        Assert.AreEqual(2, layers, "ML.NET's two reflection layers (see README) and no more");
    }

    /// <summary>The ONNX Runtime classifier of <see cref="OnnxScoringTests.ExportedFolder"/>, saved by <c>Model.Save</c>.</summary>
    private static byte[] SavedOnnxModel()
    {
        OnnxScoringTests.Trained(out var ml, out var test);
        using var onnx = GwtOnnxTextClassificationTransformer.Load(ml, OnnxScoringTests.ExportedFolder());
        using var ms = new MemoryStream();
        ml.Model.Save(onnx, test.Schema, ms);
        return ms.ToArray();
    }

    /// <summary>Overwrites the deflated bytes of the zip entry named <paramref name="entry"/> with an invalid deflate
    /// block, leaving the zip's directory intact: the archive opens, but that entry cannot be extracted.</summary>
    private static byte[] UnextractableEntry(byte[] zip, string entry)
    {
        string fullName;
        long compressed;
        using (var archive = new ZipArchive(new MemoryStream(zip)))
        {
            var e = archive.Entries.Single(x => x.Name == entry);
            (fullName, compressed) = (e.FullName, e.CompressedLength);
        }
        var name = System.Text.Encoding.UTF8.GetBytes(fullName);
        var copy = (byte[])zip.Clone();
        for (int i = 0; i + 30 < copy.Length; i++)
        {
            var header = copy.AsSpan(i);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != 0x04034B50) // a local file header
                continue;
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            if (!header.Slice(30, nameLength).SequenceEqual(name))
                continue;
            Assert.AreEqual(8, BinaryPrimitives.ReadUInt16LittleEndian(header[8..]), $"{fullName} is deflated");
            copy.AsSpan(i + 30 + nameLength + extraLength, (int)compressed).Fill(0xFF); // BTYPE 11: a reserved block type
            return copy;
        }
        Assert.Fail($"no local header for {fullName}");
        return null!;
    }

    [TestMethod]
    [DataRow("GWT", "Tokenizer", "tokenizer (entry 'Tokenizer')")]
    [DataRow("GWT", "Weights", "weights (entry 'Weights')")]
    [DataRow("ONNX", "Checksums", "checksum table (entry 'Checksums')")]
    [DataRow("ONNX", "OnnxGraph", "ONNX graph (entry 'OnnxGraph')")]
    [DataRow("ONNX", "Tokenizer", "tokenizer (entry 'Tokenizer')")]
    [DataRow("ONNX", "Labels", "label values (entry 'Labels')")]
    public void APartTheZipCannotExtractIsAnInvalidDataExceptionNamingIt(string model, string entry, string named)
    {
        // Both classifiers read their parts under one error policy: the zip layer's own error is wrapped, naming the part.
        var damaged = UnextractableEntry(model == "ONNX" ? SavedOnnxModel() : SavedModel(), entry);
        var (inner, layers) = ModelFileErrors.Unwrap(LoadFails(damaged));
        Assert.IsInstanceOfType<InvalidDataException>(inner, inner.ToString());
        StringAssert.Contains(inner.Message, "The model file is damaged");
        StringAssert.Contains(inner.Message, named);
        StringAssert.Contains(inner.Message, "cannot be extracted");
        Assert.AreEqual(model == "ONNX" ? 1 : 2, layers, "ML.NET's reflection layers (one more inside a chain) and no more");
    }

    [TestMethod]
    [DataRow("Model.key", "settings")]
    [DataRow("Config", "encoder config (entry 'Config')")]
    [DataRow("Weights", "weights (entry 'Weights')")]
    public void GwtModelLoaderLoadRaisesTheDamageItselfWithoutReflectionWrappers(string entry, string named)
    {
        var damaged = EditEntry(SavedModel(), entry, b => b[entry == "Model.key" ? 0x100 + 6 : b.Length / 2] ^= 0x10);
        var ex = Assert.Throws<InvalidDataException>(() => GwtModelLoader.Load(new MLContext(1), new MemoryStream(damaged), out _));
        StringAssert.Contains(ex.Message, "The model file is damaged");
        StringAssert.Contains(ex.Message, named);
    }

    [TestMethod]
    public void GwtModelLoaderLoadScoresLikeModelLoadAndNamesAMissingFile()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var path = Path.Combine(Path.GetTempPath(), $"gwt-loader-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, test.Schema, path);
            var viaGwt = GwtModelLoader.Load(new MLContext(2), path, out var schema);
            var viaMl = new MLContext(3).Model.Load(path, out _);
            Assert.AreEqual(test.Schema.Count, schema.Count);
            var a = viaGwt.Transform(test).GetColumn<float[]>("Score").ToArray();
            var b = viaMl.Transform(test).GetColumn<float[]>("Score").ToArray();
            Assert.HasCount(b.Length, a);
            for (int i = 0; i < a.Length; i++)
                CollectionAssert.AreEqual(b[i], a[i], $"row {i}");
        }
        finally
        {
            File.Delete(path);
        }
        var missing = Path.Combine(Path.GetTempPath(), $"gwt-missing-{Guid.NewGuid():N}.zip");
        var notFound = Assert.Throws<FileNotFoundException>(() => GwtModelLoader.Load(new MLContext(1), missing, out _));
        StringAssert.Contains(notFound.Message, missing);
    }

    [TestMethod]
    public void AModelOfTheOlderFormatIsRefusedWithAClearMessage()
    {
        var old = EditEntry(SavedModel(), "Model.key", b =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x48), 0x00010001); // ModelVerWritten
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x4C), 0x00010001); // ModelVerReadable
        });
        var (inner, _) = ModelFileErrors.Unwrap(LoadFails(old));
        Assert.IsInstanceOfType<InvalidDataException>(inner, inner.ToString());
        StringAssert.Contains(inner.Message, "older Microsoft.ML.Gwt (model format 0x00010001)");
        StringAssert.Contains(inner.Message, "Train and save the model again");
    }

    [TestMethod]
    public void LoadingStreamsTheWeightsInsteadOfCopyingThem()
    {
        var bytes = SavedModel();
        long weights;
        using (var archive = new ZipArchive(new MemoryStream(bytes)))
        {
            weights = archive.Entries.Single(e => e.Name == "Weights").Length;
        }
        var ml = new MLContext(1);
        ml.Model.Load(new MemoryStream(bytes), out _); // warm-up: loader assembly, JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        ml.Model.Load(new MemoryStream(bytes), out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"Model.Load allocated {allocated / 1048576.0:F2} MB of managed memory for {weights / 1048576.0:F2} MB of weights");
        Assert.IsLessThan(weights / 2, allocated, "no managed copy of the weights (the old loader made two)");
    }

    [TestMethod]
    public void ALoadedModelStartsOnItsSavedDeviceAndMoves()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var gwt = (GwtTextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var original = model.Transform(test).GetColumn<float[]>("Score").ToArray();

        // Saved for Cuda (as a GPU-trained model is): here, with no CUDA device, it loads on the CPU and says so.
        var forCuda = new GwtTextClassificationTransformer(ml, gwt.Model, gwt.Tokenizer, gwt.Options with { Device = GwtDevice.Cuda });
        using var ms = new MemoryStream();
        ml.Model.Save(forCuda, test.Schema, ms);
        var fresh = new MLContext(2);
        var warnings = new List<string>();
        fresh.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        var loaded = (GwtTextClassificationTransformer)fresh.Model.Load(new MemoryStream(ms.ToArray()), out _);
        Assert.AreEqual(GwtDevice.Cuda, loaded.SavedDevice);
        bool cuda = torch.cuda.is_available();
        Assert.AreEqual(cuda ? GwtDevice.Cuda : GwtDevice.Cpu, loaded.Device);
        Assert.AreEqual(cuda ? torch.CUDA.type : torch.CPU.type, loaded.Model.parameters().First().device_type);
        if (!cuda)
        {
            Assert.IsTrue(warnings.Any(w => w.Contains("trained for Cuda") && w.Contains("MoveTo")), string.Join("\n", warnings));
            var ex = Assert.ThrowsExactly<InvalidOperationException>(() => loaded.MoveTo(GwtDevice.Cuda));
            StringAssert.Contains(ex.Message, "Device is Cuda");
        }
        Assert.AreSame(loaded, loaded.MoveTo(GwtDevice.Cpu));
        Assert.AreEqual(GwtDevice.Cpu, loaded.Device);
        var scores = loaded.Transform(test).GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < original.Length; i++)
        {
            CollectionAssert.AreEqual(original[i], scores[i], $"row {i}");
        }

        // Saved for the CPU: stays there.
        var forCpu = new GwtTextClassificationTransformer(ml, gwt.Model, gwt.Tokenizer, gwt.Options with { Device = GwtDevice.Cpu });
        using var ms2 = new MemoryStream();
        ml.Model.Save(forCpu, test.Schema, ms2);
        var onCpu = (GwtTextClassificationTransformer)fresh.Model.Load(new MemoryStream(ms2.ToArray()), out _);
        Assert.AreEqual(GwtDevice.Cpu, onCpu.SavedDevice);
        Assert.AreEqual(GwtDevice.Cpu, onCpu.Device);
    }

    [TestMethod]
    public void SavingWeightsLeavesNoTensorForTheFinalizer()
    {
        var (_, model, _) = TrainerBehaviourTests.Trained();
        var gwt = (GwtTextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var weights = gwt.Model.state_dict();
        using var ms = new MemoryStream();
        SafeTensors.Save(ms, weights); // warm-up
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        SafeTensors.Save(ms, weights);
        Assert.AreEqual(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount, "every detached, converted or CPU copy is disposed at once");
    }
}
