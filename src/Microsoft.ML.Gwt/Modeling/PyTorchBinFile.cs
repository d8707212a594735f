using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// One <c>torch.save</c>d state dict (<c>pytorch_model.bin</c>), read weights-only: PyTorch's zip format
/// (<c>&lt;name&gt;/data.pkl</c> + one record per storage, <c>&lt;name&gt;/data/&lt;key&gt;</c>; PyTorch 1.6 and later)
/// or its legacy format (a magic-number pickle, a system-info pickle, the state-dict pickle, the storage-key pickle,
/// then each storage as an int64 element count and its bytes). The pickle is read by <see cref="WeightsOnlyUnpickler"/>
/// and every tensor's shape, strides, offset and storage are checked against the file before the constructor returns;
/// only then, one tensor at a time, is data read: straight into the destination when the tensor is a contiguous run of
/// its storage of the destination's dtype, else through a temporary tensor (the run, or for a strided view the whole
/// storage seen through <c>as_strided</c>).
/// </summary>
internal sealed class PyTorchBinFile : CheckpointTensors
{
    /// <summary>The largest pickle we read (a state dict's pickle is a few hundred kilobytes).</summary>
    public const long MaxPickleBytes = 100L << 20;

    private static readonly BigInteger LegacyMagic = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    private readonly FileStream _stream;
    private readonly ZipArchive? _zip;
    private readonly Dictionary<string, TensorRef> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Storage> _storages = new(StringComparer.Ordinal);

    /// <summary>Where a storage's bytes are: a zip record, or a position in a legacy file.</summary>
    private sealed record Storage(StorageRef Ref, ZipArchiveEntry? Entry, long Position, long Order);

    public PyTorchBinFile(string path, int fileIndex = 0)
    {
        Source = path;
        FileIndex = fileIndex;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, FileOptions.RandomAccess);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            int got = _stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
            _stream.Position = 0;
            if (got == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)
            {
                _zip = OpenZip();
            }
            else if (got >= 2 && magic[0] == 0x80 && magic[1] <= 5)
            {
                OpenLegacy();
            }
            else
            {
                throw new FormatException(
                    $"'{path}' is not a PyTorch checkpoint: it is neither a zip archive (torch.save since PyTorch 1.6) nor PyTorch's legacy pickle format.");
            }
            CheckTensors();
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException and not FileNotFoundException)
        {
            Dispose();
            throw new FormatException($"'{path}' is not a readable PyTorch checkpoint: {ex.Message}", ex);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The position of this file among a checkpoint's shards.</summary>
    public int FileIndex { get; }

    public override string Source { get; }

    public override IReadOnlyCollection<string> Keys => _tensors.Keys;

    public override long[] Shape(string key) => _tensors[key].Shape;

    /// <summary>The stored element type of <paramref name="key"/>.</summary>
    public ScalarType StoredType(string key) => _tensors[key].Storage.DType;

    public override long ReadOrder(string key) => ((long)FileIndex << 44) + _storages[_tensors[key].Storage.Key].Order;

    private ZipArchive OpenZip()
    {
        var zip = new ZipArchive(_stream, ZipArchiveMode.Read, leaveOpen: true);
        try
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.IndexOf('/') == e.FullName.Length - 9).ToList();
            if (pickles.Count != 1)
            {
                throw new FormatException($"'{Source}' is a zip archive but not a PyTorch checkpoint: it has {pickles.Count} '<name>/data.pkl' records, not 1.");
            }
            string prefix = pickles[0].FullName[..^"data.pkl".Length];
            var entries = new Dictionary<string, (ZipArchiveEntry Entry, int Index)>(StringComparer.Ordinal);
            for (int i = 0; i < zip.Entries.Count; i++)
            {
                entries[zip.Entries[i].FullName] = (zip.Entries[i], i);
            }
            if (entries.TryGetValue(prefix + "byteorder", out var order))
            {
                using var reader = new StreamReader(order.Entry.Open());
                var text = reader.ReadToEnd().Trim();
                if (text != "little")
                {
                    throw new NotSupportedException($"'{Source}' was saved on a '{text}'-endian machine; only little-endian checkpoints are read.");
                }
            }
            var pickle = ReadAll(pickles[0]);
            var (root, _) = WeightsOnlyUnpickler.Load(pickle, 0, Source, pid =>
            {
                var storage = StorageFromPid(pid, legacy: false);
                if (!_storages.ContainsKey(storage.Key))
                {
                    if (!entries.TryGetValue(prefix + "data/" + storage.Key, out var record))
                    {
                        throw new FormatException($"'{Source}' has no record '{prefix}data/{storage.Key}' for a storage its pickle uses.");
                    }
                    long bytes = checked(storage.Elements * PyTorchCheckpoint.ElementSize(storage.DType));
                    if (record.Entry.Length != bytes)
                    {
                        throw new FormatException(
                            $"'{Source}': record '{record.Entry.FullName}' has {record.Entry.Length} bytes but its storage needs {bytes} ({storage.Elements} × {storage.DType}); the file is damaged.");
                    }
                    _storages[storage.Key] = new Storage(storage, record.Entry, 0, record.Index);
                }
                return storage;
            });
            AddStateDict(root);
            return zip;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private void OpenLegacy()
    {
        long length = _stream.Length;
        int prefixBytes = (int)Math.Min(length, 1 << 20);
        while (true)
        {
            _storages.Clear();
            _tensors.Clear();
            _stream.Position = 0;
            var head = new byte[prefixBytes];
            _stream.ReadExactly(head);
            try
            {
                ParseLegacy(head, length);
                return;
            }
            catch (TruncatedPickleException) when (prefixBytes < length && prefixBytes < MaxPickleBytes)
            {
                prefixBytes = (int)Math.Min(Math.Min(length, MaxPickleBytes), 4L * prefixBytes); // the pickles go on past what was read
            }
        }
    }

    private void ParseLegacy(byte[] head, long length)
    {
        var (magic, at) = WeightsOnlyUnpickler.Load(head, 0, Source, null);
        if (magic is not BigInteger m || m != LegacyMagic)
        {
            throw new FormatException($"'{Source}' is a pickle but not a PyTorch checkpoint (no torch.save magic number).");
        }
        (var version, at) = WeightsOnlyUnpickler.Load(head, at, Source, null);
        if (version is not 1001L)
        {
            throw new NotSupportedException($"'{Source}' has legacy protocol version {version}; only 1001 is read.");
        }
        (var sysInfo, at) = WeightsOnlyUnpickler.Load(head, at, Source, null);
        if (sysInfo is PickleDict info && info.Items.Any(kv => kv.Key is "little_endian" && kv.Value is false))
        {
            throw new NotSupportedException($"'{Source}' was saved on a big-endian machine; only little-endian checkpoints are read.");
        }
        var refs = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
        (var root, at) = WeightsOnlyUnpickler.Load(head, at, Source, pid =>
        {
            var storage = StorageFromPid(pid, legacy: true);
            if (refs.TryGetValue(storage.Key, out var seen) && (seen.DType != storage.DType || seen.Elements != storage.Elements))
            {
                throw new FormatException($"'{Source}': storage '{storage.Key}' is referenced with two types or sizes.");
            }
            refs[storage.Key] = storage with { View = null };
            return storage;
        });
        (var keys, at) = WeightsOnlyUnpickler.Load(head, at, Source, null);
        if (keys is not List<object?> keyList || keyList.Any(k => k is not string))
        {
            throw new FormatException($"'{Source}': the list of storage keys after the state dict is {WeightsOnlyUnpickler.Describe(keys)}, not a list of strings.");
        }
        long position = at;
        Span<byte> count = stackalloc byte[8];
        foreach (string key in keyList.Cast<string>())
        {
            if (!refs.TryGetValue(key, out var storage))
            {
                throw new FormatException($"'{Source}' lists storage '{key}', which its state dict does not use.");
            }
            _stream.Position = position;
            if (position + 8 > length || _stream.ReadAtLeast(count, 8, throwOnEndOfStream: false) != 8)
            {
                throw new FormatException($"'{Source}' ends before storage '{key}' (truncated).");
            }
            long elements = BinaryPrimitives.ReadInt64LittleEndian(count);
            if (elements != storage.Elements)
            {
                throw new FormatException($"'{Source}': storage '{key}' has {elements} elements in the file but {storage.Elements} in its pickle.");
            }
            _storages[key] = new Storage(storage, null, position + 8, position);
            position = checked(position + 8 + elements * PyTorchCheckpoint.ElementSize(storage.DType));
            if (position > length)
            {
                throw new FormatException($"'{Source}' ends inside storage '{key}' (truncated).");
            }
        }
        var absent = refs.Keys.Where(k => !_storages.ContainsKey(k)).ToList();
        if (absent.Count > 0)
        {
            throw new FormatException($"'{Source}' does not hold storage(s) {string.Join(", ", absent.Take(5))} that its state dict uses.");
        }
        AddStateDict(root);
    }

    /// <summary>A persistent id: <c>('storage', torch.&lt;Type&gt;Storage, key, location, elements)</c>, and in the
    /// legacy format a sixth item, <c>None</c> or a view <c>(view key, offset, size)</c>.</summary>
    private StorageRef StorageFromPid(object?[] pid, bool legacy)
    {
        if (pid.Length != (legacy ? 6 : 5) || pid[0] is not "storage")
        {
            throw new UnsafeCheckpointException(Source, "persistent id",
                $"Refused to load '{Source}': a persistent id that is not a storage reference ({pid.Length} items: {string.Join(", ", pid.Select(WeightsOnlyUnpickler.Describe))}).");
        }
        if (pid[1] is not PickleGlobal { Module: "torch" } type || !PyTorchCheckpoint.StorageTypes.TryGetValue(type.Name, out var dtype))
        {
            throw new FormatException($"'{Source}': a storage reference whose type is {WeightsOnlyUnpickler.Describe(pid[1])}, not a torch.*Storage.");
        }
        if (pid[2] is not string key || key.Length == 0 || key.Length > 100 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new FormatException($"'{Source}': a storage key that is {WeightsOnlyUnpickler.Describe(pid[2])}, not a short name.");
        }
        if (pid[3] is not string || pid[4] is not long elements || elements < 0)
        {
            throw new FormatException($"'{Source}': storage '{key}' has no location or element count.");
        }
        (string, long, long)? view = null;
        if (legacy && pid[5] is not null)
        {
            if (pid[5] is not object?[] { Length: 3 } v || v[0] is not string viewKey || v[1] is not long offset || v[2] is not long size ||
                offset < 0 || size < 0 || offset > elements - size)
            {
                throw new FormatException($"'{Source}': storage '{key}' has a malformed view.");
            }
            view = (viewKey, offset, size);
        }
        return new StorageRef(key, dtype, elements, view);
    }

    private void AddStateDict(object? root)
    {
        if (root is not PickleDict dict)
        {
            throw new FormatException($"'{Source}' holds {WeightsOnlyUnpickler.Describe(root)}, not a state dict (a dict of tensors).");
        }
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string key)
            {
                throw new FormatException($"'{Source}': a state-dict key is {WeightsOnlyUnpickler.Describe(k)}, not a string.");
            }
            if (v is not TensorRef tensor)
            {
                throw new FormatException($"'{Source}': '{key}' holds {WeightsOnlyUnpickler.Describe(v)}, not a tensor; only a state dict of tensors is read.");
            }
            if (!_tensors.TryAdd(key, tensor))
            {
                throw new FormatException($"'{Source}' holds tensor '{key}' twice.");
            }
        }
    }

    /// <summary>Checks every tensor against its storage (and a legacy view against its root) and rebases views onto
    /// their root storage.</summary>
    private void CheckTensors()
    {
        foreach (var key in _tensors.Keys.ToList())
        {
            var t = _tensors[key];
            if (t.Shape.Length != t.Stride.Length || t.Shape.Length > 64 || t.Shape.Any(s => s < 0) || t.Stride.Any(s => s < 0) || t.Offset < 0)
            {
                throw new FormatException($"'{Source}': tensor '{key}' has shape [{string.Join(", ", t.Shape)}], strides [{string.Join(", ", t.Stride)}] and offset {t.Offset}, which do not describe a tensor.");
            }
            long limit = t.Storage.View?.Size ?? t.Storage.Elements;
            try
            {
                long numel = t.Shape.Aggregate(1L, (a, s) => checked(a * s));
                long last = t.Offset;
                for (int d = 0; d < t.Shape.Length; d++)
                {
                    last = checked(last + (t.Shape[d] - 1) * t.Stride[d]);
                }
                if (numel > 0 && last >= limit)
                {
                    throw new FormatException($"'{Source}': tensor '{key}' reaches element {last} of a storage of {limit}; the file is damaged.");
                }
            }
            catch (OverflowException)
            {
                throw new FormatException($"'{Source}': tensor '{key}' has a shape or strides too large to address.");
            }
            if (t.Storage.View is { } view)
            {
                _tensors[key] = t = t with { Storage = t.Storage with { View = null }, Offset = t.Offset + view.Offset };
            }
            if (!_storages.ContainsKey(t.Storage.Key))
            {
                throw new FormatException($"'{Source}' does not hold the storage of tensor '{key}'.");
            }
        }
    }

    public override void ReadInto(string key, Tensor destination)
    {
        var t = _tensors[key];
        var storage = _storages[t.Storage.Key];
        var stored = t.Storage.DType;
        long es = PyTorchCheckpoint.ElementSize(stored);
        long numel = t.Shape.Aggregate(1L, (a, s) => a * s);
        if (numel == 0)
        {
            return;
        }
        try
        {
            using var stream = storage.Entry?.Open();
            var source = stream ?? _stream;
            if (stream is null)
            {
                _stream.Position = storage.Position;
            }
            if (IsContiguous(t.Shape, t.Stride))
            {
                Skip(source, t.Offset * es);
                if (destination.dtype == stored && destination.device_type == DeviceType.CPU && destination.is_contiguous())
                {
                    ReadExactly(source, destination, numel * es);
                    return;
                }
                using var run = torch.empty(t.Shape, stored);
                ReadExactly(source, run, numel * es);
                destination.copy_(run);
                return;
            }
            using var whole = torch.empty(new[] { storage.Ref.Elements }, stored);
            ReadExactly(source, whole, storage.Ref.Elements * es);
            using var view = whole.as_strided(t.Shape, t.Stride, t.Offset);
            destination.copy_(view);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw new FormatException($"'{Source}': the data of tensor '{key}' cannot be read ({ex.Message}); the file is damaged.", ex);
        }
    }

    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && stride[d] != expected)
            {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    private static void Skip(Stream stream, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        if (stream.CanSeek)
        {
            stream.Seek(bytes, SeekOrigin.Current);
            return;
        }
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (bytes > 0)
            {
                int n = stream.Read(buffer, 0, (int)Math.Min(bytes, buffer.Length));
                if (n == 0)
                {
                    throw new EndOfStreamException();
                }
                bytes -= n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] ReadAll(ZipArchiveEntry entry)
    {
        if (entry.Length > MaxPickleBytes)
        {
            throw new FormatException($"'{Source}': its pickle '{entry.FullName}' has {entry.Length} bytes; more than {MaxPickleBytes} is refused.");
        }
        var bytes = new byte[entry.Length];
        using var s = entry.Open();
        s.ReadExactly(bytes);
        return bytes;
    }

    public override void Dispose()
    {
        _zip?.Dispose();
        _stream.Dispose();
    }
}

/// <summary>A pickle that ends before its <c>STOP</c>: in a legacy file, a sign to read more of the file.</summary>
internal sealed class TruncatedPickleException(string message) : FormatException(message);
