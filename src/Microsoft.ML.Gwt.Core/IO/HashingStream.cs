using System.Security.Cryptography;

namespace Microsoft.ML.Gwt.Core.IO;

/// <summary>
/// A forward-only read or write stream over another stream that feeds every byte passing through into a SHA-256 hash,
/// so that a part of a file can be checksummed while it is written or read, without holding it in memory.
/// </summary>
internal sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _writing;
    private long _position;

    private HashingStream(Stream inner, bool writing)
    {
        _inner = inner;
        _writing = writing;
    }

    /// <summary>Hashes what is read from <paramref name="inner"/> (which is not disposed with this stream).</summary>
    public static HashingStream ForReading(Stream inner) => new(inner, writing: false);

    /// <summary>Hashes what is written to <paramref name="inner"/> (which is not disposed with this stream).</summary>
    public static HashingStream ForWriting(Stream inner) => new(inner, writing: true);

    /// <summary>Bytes that passed through so far.</summary>
    public long BytesHashed => _position;

    /// <summary>Reads and hashes whatever is left of the inner stream.</summary>
    public void ReadToEnd()
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            while (Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The SHA-256 of every byte that passed through (the hash restarts afterwards).</summary>
    public byte[] GetHashAndReset() => _hash.GetHashAndReset();

    public override bool CanRead => !_writing;

    public override bool CanSeek => false;

    public override bool CanWrite => _writing;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_writing)
        {
            throw new NotSupportedException();
        }
        int n = _inner.Read(buffer);
        _hash.AppendData(buffer[..n]);
        _position += n;
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_writing)
        {
            throw new NotSupportedException();
        }
        _inner.Write(buffer);
        _hash.AppendData(buffer);
        _position += buffer.Length;
    }

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
