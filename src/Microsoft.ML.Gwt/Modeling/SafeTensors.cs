using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.IO;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">The stored element type: <c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>F64</c>, <c>I64</c> or <c>I32</c>.</param>
/// <param name="Shape">The shape.</param>
/// <param name="Begin">Start of the data, relative to the end of the header.</param>
/// <param name="End">End of the data (exclusive), relative to the end of the header.</param>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// A careful reader and writer of the <c>safetensors</c> format: an 8-byte little-endian header length, a JSON header
/// of <c>{name: {dtype, shape, data_offsets}}</c>, then the raw data. Every length and offset is checked against the
/// file before anything is allocated, and tensors are read one at a time.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header we accept (Hugging Face's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100L << 20;

    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["F64"] = 8, ["I64"] = 8, ["I32"] = 4,
    };

    /// <summary>Reads and validates the header of a safetensors file.</summary>
    /// <exception cref="FormatException">The file is malformed; the message names the file and the problem.</exception>
    public static IReadOnlyList<SafeTensorInfo> ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, stream.Length, path, out _);
    }

    /// <summary>Reads every tensor as float32 (F16/BF16/F64 are converted) on the CPU. The caller owns the tensors.</summary>
    /// <exception cref="FormatException">The file is malformed.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Reads every tensor of a safetensors stream (seekable) as float32 on the CPU.</summary>
    public static Dictionary<string, Tensor> Load(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Position = 0;
        var infos = ReadHeader(stream, stream.Length, source, out long dataStart);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in infos)
            {
                result[info.Name] = ReadTensor(stream, dataStart, info, source);
            }
        }
        catch
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }
            throw;
        }
        return result;
    }

    /// <summary>
    /// Reads a safetensors stream from its current position into existing tensors, one tensor at a time and in file
    /// order, through a small reused buffer: the stream is read once, forward only, and never held whole in memory.
    /// The file must hold exactly the tensors of <paramref name="targets"/>, with the same shapes; stored F16/BF16/F64
    /// values are converted to the target's type, and targets may live on any device.
    /// </summary>
    /// <param name="stream">The stream, positioned at the start of the safetensors data; it need not be seekable.</param>
    /// <param name="length">The number of bytes the safetensors data has from the current position.</param>
    /// <param name="targets">The tensors to fill, by name (for example a module's <c>state_dict()</c>).</param>
    /// <param name="source">What the stream is, for error messages.</param>
    /// <exception cref="FormatException">The data is malformed, or its names or shapes do not match the targets.</exception>
    public static void ReadInto(Stream stream, long length, IReadOnlyDictionary<string, Tensor> targets, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(targets);
        var infos = ReadHeader(stream, length, source, out long dataStart);
        CheckTargets(infos, targets, source);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long at = 0; // bytes of data consumed
            foreach (var info in infos.OrderBy(i => i.Begin))
            {
                Skip(stream, info.Begin - at, buffer, source);
                ReadTensorInto(stream, info, targets[info.Name], buffer, source);
                at = info.End;
            }
            Skip(stream, length - dataStart - at, buffer, source);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckTargets(IReadOnlyList<SafeTensorInfo> infos, IReadOnlyDictionary<string, Tensor> targets, string source)
    {
        var names = infos.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var missing = targets.Keys.Where(k => !names.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = names.Where(n => !targets.ContainsKey(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw Bad(source, $"its tensors do not match the model (missing: {string.Join(", ", missing.Take(10))}; unexpected: {string.Join(", ", unexpected.Take(10))})");
        }
        foreach (var info in infos)
        {
            var shape = targets[info.Name].shape;
            if (!shape.SequenceEqual(info.Shape))
            {
                throw Bad(source, $"tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}] but the model's has [{string.Join(", ", shape)}]");
            }
        }
    }

    private static void ReadTensorInto(Stream stream, SafeTensorInfo info, Tensor target, byte[] buffer, string source)
    {
        long bytes = info.End - info.Begin;
        if (bytes > int.MaxValue)
        {
            throw Bad(source, $"tensor '{info.Name}' is larger than 2 GB");
        }
        var stored = StoredType(info.DType);
        bool direct = stored == target.dtype && target.device_type == DeviceType.CPU && target.is_contiguous();
        using var scope = torch.NewDisposeScope();
        var destination = direct ? target : torch.empty(info.Shape, stored);
        if (bytes > 0)
        {
            var span = destination.bytes;
            for (int done = 0; done < bytes;)
            {
                int n = (int)Math.Min(buffer.Length, bytes - done);
                ReadExactly(stream, buffer.AsSpan(0, n), info.Name, source);
                buffer.AsSpan(0, n).CopyTo(span.Slice(done));
                done += n;
            }
        }
        if (!direct)
        {
            using var noGrad = torch.no_grad();
            target.copy_(destination);
        }
    }

    private static void Skip(Stream stream, long count, byte[] buffer, string source)
    {
        while (count > 0)
        {
            int n = (int)Math.Min(buffer.Length, count);
            ReadExactly(stream, buffer.AsSpan(0, n), "padding", source);
            count -= n;
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> into, string what, string source)
    {
        try
        {
            stream.ReadExactly(into);
        }
        catch (EndOfStreamException)
        {
            throw Bad(source, $"the data ends inside '{what}'");
        }
    }

    /// <summary>The TorchSharp type of a safetensors dtype that the header reader accepted.</summary>
    internal static ScalarType StoredType(string dtype) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        _ => ScalarType.Int32,
    };

    /// <summary>Writes float32 tensors (any device) to a safetensors file, through a temporary file and a rename.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        AtomicFile.Write(path, stream => Save(stream, tensors));
    }

    /// <summary>Writes float32 tensors to a stream in safetensors format (keys sorted, header padded to 8 bytes).</summary>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors) => Save(stream, tensors, ScalarType.Float32);

    /// <summary>Writes tensors to a stream in safetensors format as <paramref name="storeAs"/> (<c>F32</c> or <c>BF16</c>,
    /// rounded to nearest even: half the bytes), keys sorted, header padded to 8 bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="storeAs"/> is neither Float32 nor BFloat16.</exception>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType storeAs)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        if (storeAs is not (ScalarType.Float32 or ScalarType.BFloat16))
        {
            throw new ArgumentException($"Tensors are stored as Float32 or BFloat16, not {storeAs}.", nameof(storeAs));
        }
        int elementBytes = storeAs == ScalarType.Float32 ? 4 : 2;
        string dtype = storeAs == ScalarType.Float32 ? "F32" : "BF16";
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, tensor) in ordered)
        {
            long bytes = tensor.numel() * elementBytes;
            header[name] = new { dtype, shape = tensor.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padding = (8 - json.Length % 8) % 8;
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        stream.Write(length);
        stream.Write(json);
        for (int i = 0; i < padding; i++)
        {
            stream.WriteByte((byte)' ');
        }
        foreach (var (_, tensor) in ordered)
        {
            // Every intermediate (detached view, converted or CPU copy) is released here, not by the finalizer.
            using var scope = torch.NewDisposeScope();
            var cpu = tensor.detach().to(storeAs).cpu().contiguous();
            stream.Write(cpu.bytes);
        }
    }

    /// <summary>Reads the header from the stream's current position; <paramref name="fileLength"/> is the number of
    /// bytes from there to the end of the data.</summary>
    internal static IReadOnlyList<SafeTensorInfo> ReadHeader(Stream stream, long fileLength, string source, out long dataStart)
    {
        if (fileLength < 8)
        {
            throw Bad(source, $"the file has {fileLength} bytes, fewer than the 8-byte header length");
        }
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
        {
            throw Bad(source, $"the header claims {headerLength} bytes but the file has {fileLength - 8} after the length (limit {MaxHeaderBytes})");
        }
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw Bad(source, "the header is not valid JSON: " + ex.Message);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Bad(source, "the header is not a JSON object");
            }
            var infos = new List<SafeTensorInfo>();
            try
            {
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (prop.Name == "__metadata__")
                    {
                        continue;
                    }
                    infos.Add(ParseEntry(prop, source, dataLength));
                }
            }
            catch (InvalidOperationException ex)
            {
                throw Bad(source, "the header has invalid text: " + ex.Message);
            }
            if (infos.Select(i => i.Name).Distinct(StringComparer.Ordinal).Count() != infos.Count)
            {
                throw Bad(source, "the header names a tensor twice");
            }
            // Data regions must not overlap.
            var sorted = infos.OrderBy(i => i.Begin).ThenBy(i => i.End).ToList();
            for (int i = 1; i < sorted.Count; i++)
            {
                if (sorted[i].Begin < sorted[i - 1].End)
                {
                    throw Bad(source, $"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
                }
            }
            return infos;
        }
    }

    private static SafeTensorInfo ParseEntry(JsonProperty prop, string source, long dataLength)
    {
        var e = prop.Value;
        string name = prop.Name;
        if (e.ValueKind != JsonValueKind.Object ||
            !e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String ||
            !e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array ||
            !e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
        {
            throw Bad(source, $"tensor '{name}' needs dtype (string), shape (array) and data_offsets ([begin, end])");
        }
        string dtype = dtypeEl.GetString()!;
        if (!ElementSizes.TryGetValue(dtype, out int size))
        {
            throw Bad(source, $"tensor '{name}' has unsupported dtype '{dtype}' (supported: {string.Join(", ", ElementSizes.Keys)})");
        }
        if (shapeEl.GetArrayLength() > 8)
        {
            throw Bad(source, $"tensor '{name}' has {shapeEl.GetArrayLength()} dimensions");
        }
        var shape = new long[shapeEl.GetArrayLength()];
        long numel = 1;
        int d = 0;
        foreach (var dim in shapeEl.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long v) || v < 0 || v > dataLength)
            {
                throw Bad(source, $"tensor '{name}' has an invalid dimension {dim}");
            }
            shape[d++] = v;
            numel = v == 0 ? 0 : (numel > dataLength / Math.Max(1, v) ? dataLength + 1 : numel * v);
        }
        var offsets = offEl.EnumerateArray().Select(o =>
            o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long x) ? x : -1).ToArray();
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength)
        {
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the {dataLength} data bytes");
        }
        if (numel > dataLength || numel * size != end - begin)
        {
            throw Bad(source, $"tensor '{name}' of dtype {dtype} and shape [{string.Join(", ", shape)}] needs {(numel > dataLength ? "more than the file's" : (numel * size).ToString())} bytes but its offsets span {end - begin}");
        }
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static Tensor ReadTensor(Stream stream, long dataStart, SafeTensorInfo info, string source)
    {
        long bytes = info.End - info.Begin;
        if (bytes > int.MaxValue)
        {
            throw Bad(source, $"tensor '{info.Name}' is larger than 2 GB");
        }
        var raw = GC.AllocateUninitializedArray<byte>((int)bytes);
        stream.Position = dataStart + info.Begin;
        stream.ReadExactly(raw);
        var stored = StoredType(info.DType);
        using var t = torch.empty(info.Shape, stored);
        if (bytes > 0)
        {
            t.bytes = raw;
        }
        return t.to(ScalarType.Float32);
    }

    internal static FormatException Bad(string source, string problem) =>
        new($"'{source}' is not a valid safetensors file: {problem}.");
}
