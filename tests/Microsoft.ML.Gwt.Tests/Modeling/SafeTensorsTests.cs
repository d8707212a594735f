using System.Buffers.Binary;
using System.Text;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class SafeTensorsTests
{
    private static byte[] File(string header, int dataBytes, ulong? claimedLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static FormatException Fails(byte[] bytes)
    {
        using var ms = new MemoryStream(bytes);
        return Assert.ThrowsExactly<FormatException>(() => SafeTensors.Load(ms, "test.safetensors"));
    }

    [TestMethod]
    public void RoundTripsFloat32AndReadsHalfPrecision()
    {
        using var a = arange(6, ScalarType.Float32).reshape(2, 3);
        var path = Path.Combine(Path.GetTempPath(), $"gwt-{Guid.NewGuid():N}.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = a });
        var back = SafeTensors.Load(path);
        CollectionAssert.AreEqual(a.data<float>().ToArray(), back["a"].data<float>().ToArray());

        // F16 1.5 = 0x3E00, BF16 -2.0 = 0xC000.
        var bytes = File("{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]}}", 4);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(bytes.Length - 4), 0x3E00);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(bytes.Length - 2), 0xC000);
        using var ms = new MemoryStream(bytes);
        var t = SafeTensors.Load(ms, "x");
        Assert.AreEqual(1.5f, t["h"].item<float>());
        Assert.AreEqual(-2f, t["b"].item<float>());
    }

    [TestMethod]
    public void TruncatedFileIsRejected()
    {
        Fails(new byte[5]);
        var good = File("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
        StringAssert.Contains(Fails(good[..^4]).Message, "outside");
    }

    [TestMethod]
    public void HugeHeaderLengthIsRejectedWithoutAllocating()
    {
        var ex = Fails(File("{}", 0, claimedLength: ulong.MaxValue / 2));
        StringAssert.Contains(ex.Message, "header claims");
    }

    [TestMethod]
    public void LyingShapesOffsetsAndDtypesAreRejected()
    {
        StringAssert.Contains(Fails(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,16]}}", 16)).Message, "needs 20 bytes");
        StringAssert.Contains(Fails(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000],\"data_offsets\":[0,16]}}", 16)).Message, "invalid dimension");
        StringAssert.Contains(Fails(File("{\"a\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16)).Message, "unsupported dtype");
        StringAssert.Contains(Fails(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)).Message, "overlap");
        StringAssert.Contains(Fails(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8)).Message, "data_offsets");
        StringAssert.Contains(Fails(File("[1,2,3]", 0)).Message, "not a JSON object");
        StringAssert.Contains(Fails(File("{\"a\":", 0)).Message, "not valid JSON");
        StringAssert.Contains(Fails(File("{\"a\":{\"shape\":[2]}}", 0)).Message, "needs dtype");
    }

    [TestMethod]
    public void RandomMutationsNeverCrash()
    {
        var bytes = System.IO.File.ReadAllBytes(Path.Combine(EncoderParityTests.Checkpoint("bert-tiny"), "model.safetensors"));
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var rng = new Random(99);
        int rejected = 0, loaded = 0;
        for (int i = 0; i < 300; i++)
        {
            var copy = (byte[])bytes.Clone();
            switch (i % 3)
            {
                case 0: // flip bytes in the length and header
                    for (int k = 0; k < 1 + rng.Next(4); k++) copy[rng.Next(headerEnd)] = (byte)rng.Next(256);
                    break;
                case 1: // truncate
                    copy = copy[..rng.Next(copy.Length)];
                    break;
                default: // overwrite a digit in the header
                    int at = rng.Next(8, headerEnd);
                    copy[at] = (byte)('0' + rng.Next(10));
                    break;
            }
            try
            {
                using var ms = new MemoryStream(copy);
                foreach (var t in SafeTensors.Load(ms, "mutated").Values) t.Dispose();
                loaded++;
            }
            catch (FormatException)
            {
                rejected++;
            }
        }
        Console.WriteLine($"mutations: {rejected} rejected with FormatException, {loaded} still valid");
        Assert.AreEqual(300, rejected + loaded);
        Assert.IsGreaterThan(100, rejected);
    }
}
