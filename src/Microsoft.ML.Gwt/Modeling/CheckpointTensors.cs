using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// Named checkpoint tensors read one at a time into their destination (a model parameter), so loading never holds a
/// second copy of the model: a <c>model.safetensors</c> file, a sharded checkpoint, or tensors already in memory.
/// </summary>
internal abstract class CheckpointTensors : IDisposable
{
    /// <summary>What the tensors come from, for messages.</summary>
    public abstract string Source { get; }

    /// <summary>All keys.</summary>
    public abstract IReadOnlyCollection<string> Keys { get; }

    /// <summary>The shape of <paramref name="key"/>.</summary>
    public abstract long[] Shape(string key);

    /// <summary>A number that orders keys by where their data lies, so that reads go forward through the files.</summary>
    public virtual long ReadOrder(string key) => 0;

    /// <summary>Copies tensor <paramref name="key"/> into <paramref name="destination"/> (same shape, converting the dtype).</summary>
    public abstract void ReadInto(string key, Tensor destination);

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    /// <summary>Reads <paramref name="bytes"/> bytes from <paramref name="stream"/> straight into the memory of
    /// <paramref name="target"/>, a contiguous CPU tensor of at least that many bytes.</summary>
    /// <exception cref="EndOfStreamException">The stream ends first.</exception>
    protected static unsafe void ReadExactly(Stream stream, Tensor target, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        byte* start;
        fixed (byte* b = target.bytes)
        {
            start = b; // native memory owned by the tensor: it does not move
        }
        for (long done = 0; done < bytes;)
        {
            int chunk = (int)Math.Min(bytes - done, 1 << 30);
            stream.ReadExactly(new Span<byte>(start + done, chunk));
            done += chunk;
        }
    }

    /// <summary>Opens the weights of a checkpoint folder (<see cref="CheckpointLoader.WeightsPath"/>).</summary>
    /// <exception cref="FileNotFoundException">The folder has no weights.</exception>
    /// <exception cref="UnsafeCheckpointException">A <c>.bin</c> file's pickle holds more than tensors.</exception>
    public static CheckpointTensors Open(string folder) => OpenFile(CheckpointLoader.WeightsPath(folder));

    /// <summary>Opens a weights file: a shard index, a <c>.bin</c> (PyTorch) file, or a safetensors file.</summary>
    public static CheckpointTensors OpenFile(string path) =>
        ShardedSafeTensors.IsIndex(path) ? ShardedSafeTensors.OpenIndex(path)
        : path.EndsWith(".bin", StringComparison.Ordinal) || path.EndsWith(".pt", StringComparison.Ordinal) || path.EndsWith(".pth", StringComparison.Ordinal)
            ? new PyTorchBinFile(path)
            : new SafeTensorFile(path);
}

/// <summary>Tensors held in memory (e.g. read from a model file); <see cref="ReadInto"/> copies.</summary>
internal sealed class InMemoryTensors : CheckpointTensors
{
    private readonly IReadOnlyDictionary<string, Tensor> _tensors;

    public InMemoryTensors(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        _tensors = tensors;
        Source = source;
    }

    public override string Source { get; }

    public override IReadOnlyCollection<string> Keys => _tensors.Keys.ToList();

    public override long[] Shape(string key) => _tensors[key].shape;

    public override void ReadInto(string key, Tensor destination) => destination.copy_(_tensors[key]);
}

/// <summary>One safetensors file, read tensor by tensor straight into the destination's memory when it is a
/// contiguous CPU tensor of the stored dtype, else through one temporary tensor of that dtype.</summary>
internal sealed class SafeTensorFile : CheckpointTensors
{
    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorInfo> _infos;

    public SafeTensorFile(string path, int fileIndex = 0)
    {
        Source = path;
        FileIndex = fileIndex;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
        try
        {
            _infos = SafeTensors.ReadHeader(_stream, _stream.Length, path, out _dataStart).ToDictionary(i => i.Name, StringComparer.Ordinal);
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    /// <summary>The position of this file among a checkpoint's shards.</summary>
    public int FileIndex { get; }

    public override string Source { get; }

    public override IReadOnlyCollection<string> Keys => _infos.Keys;

    public override long[] Shape(string key) => _infos[key].Shape;

    public override long ReadOrder(string key) => ((long)FileIndex << 44) + _infos[key].Begin;

    public override void ReadInto(string key, Tensor destination)
    {
        var info = _infos[key];
        var stored = SafeTensors.StoredType(info.DType);
        _stream.Position = _dataStart + info.Begin;
        long bytes = info.End - info.Begin;
        if (destination.dtype == stored && destination.device_type == DeviceType.CPU && destination.is_contiguous())
        {
            ReadExactly(_stream, destination, bytes);
            return;
        }
        using var staging = torch.empty(info.Shape, stored);
        ReadExactly(_stream, staging, bytes);
        destination.copy_(staging);
    }

    public override void Dispose() => _stream.Dispose();
}
