using System.Text.Json;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Core.IO;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>A transformer's entry in an ML.NET model file: the version header ML.NET checks, the loader it calls, and
/// the name our messages give the entry (e.g. "GWT").</summary>
public sealed record ModelEntry(string ModelSignature, uint Version, string LoaderSignature, ModelLoaderAssembly Loader, string Name);

/// <summary>
/// Writes a classifier's entry: the settings in the entry's body (length-prefixed), every other part as a named stream
/// beside it, hashed while it is written, and last the <see cref="ModelChecksums"/> of them all
/// (<see cref="ModelPartReader"/> reads them back).
/// </summary>
public sealed class ModelPartWriter
{
    /// <summary>The settings' name in the checksum table (they are in the entry's body, not an entry of their own).</summary>
    public const string SettingsPart = "Settings";

    private readonly ModelSaveContext _ctx;
    private readonly BinaryWriter _entry;
    private readonly ModelChecksums _sums = new();

    private ModelPartWriter(ModelSaveContext ctx, BinaryWriter entry)
    {
        _ctx = ctx;
        _entry = entry;
    }

    /// <summary>Starts the entry (ML.NET's version header).</summary>
    public static ModelPartWriter Begin(ModelSaveContext ctx, ModelEntry entry) =>
        new(ctx, MlNetInterop.BeginSave(ctx, entry.ModelSignature, entry.Version, entry.LoaderSignature, entry.Loader));

    /// <summary>Writes the settings into the entry's body.</summary>
    public void WriteSettings(Action<BinaryWriter> write)
    {
        var bytes = Bytes(write);
        _sums.Add(SettingsPart, ModelChecksums.Hash(bytes));
        _entry.Write(bytes.Length);
        _entry.Write(bytes);
    }

    /// <summary>Writes a named part through a hashing stream and records its SHA-256.</summary>
    public void Write(string part, Action<BinaryWriter> write) =>
        MlNetInterop.SaveBinaryStream(_ctx, part, bw =>
        {
            bw.Flush();
            using var hashing = HashingStream.ForWriting(bw.BaseStream);
            using (var hw = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                write(hw);
            }
            _sums.Add(part, hashing.GetHashAndReset());
        });

    /// <summary>Writes the checksum table; the last call.</summary>
    public void End() => MlNetInterop.SaveBinaryStream(_ctx, ModelChecksums.EntryName, _sums.Write);

    /// <summary>The bytes a writer produces.</summary>
    public static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(w);
        }
        return ms.ToArray();
    }
}

/// <summary>
/// Reads an entry <see cref="ModelPartWriter"/> wrote, verifying every part against the checksum table before it is
/// used. One error policy for every part: a part that is missing, cannot be extracted from the zip, does not match its
/// SHA-256 or cannot be parsed (an <see cref="IOException"/>, <see cref="EndOfStreamException"/>,
/// <see cref="FormatException"/>, <see cref="ArgumentException"/>, <see cref="JsonException"/> or another reader's
/// <see cref="InvalidDataException"/>) is an <see cref="InvalidDataException"/> whose message begins with "The model
/// file" and names the part and its entry. Our own errors (messages that begin with "The model file") pass unchanged.
/// </summary>
public sealed class ModelPartReader
{
    private readonly object _ctx;
    private readonly BinaryReader _entry;
    private readonly ModelChecksums _sums;

    private ModelPartReader(object ctx, BinaryReader entry, ModelChecksums sums)
    {
        _ctx = ctx;
        _entry = entry;
        _sums = sums;
    }

    /// <summary>Checks the entry's version header and reads the checksum table; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    public static ModelPartReader Open(object ctx, ModelEntry entry)
    {
        var reader = MlNetInterop.BeginLoad(ctx, entry.ModelSignature, entry.Version, entry.LoaderSignature, entry.Loader, entry.Name);
        return new(ctx, reader, Extract(ctx, ModelChecksums.EntryName, "checksum table", ModelChecksums.Read));
    }

    /// <summary>Reads the settings from the entry's body, checks their SHA-256, then parses them.</summary>
    public T ReadSettings<T>(Func<BinaryReader, T> parse)
    {
        const string description = "settings";
        byte[] bytes;
        try
        {
            int length = _entry.ReadInt32();
            if (length < 0 || length > 1 << 20)
            {
                throw new InvalidDataException($"The model file is damaged: its settings claim {length} bytes.");
            }
            bytes = _entry.ReadBytes(length);
            if (bytes.Length != length)
            {
                throw new InvalidDataException("The model file is damaged: its settings are truncated.");
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The model file is damaged: its settings are truncated.", ex);
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            throw CannotExtract(ModelPartWriter.SettingsPart, description, ex);
        }
        _sums.Verify(ModelPartWriter.SettingsPart, description, ModelChecksums.Hash(bytes));
        return Parse(bytes, ModelPartWriter.SettingsPart, description, parse);
    }

    /// <summary>Reads a named part whole (for small parts), checks its SHA-256, then parses it.</summary>
    public T Read<T>(string part, string description, Func<BinaryReader, T> parse) =>
        Parse(ReadBytes(part, description), part, description, parse);

    /// <summary>The bytes of a named part, whole, once their SHA-256 is checked.</summary>
    public byte[] ReadBytes(string part, string description)
    {
        var bytes = Extract(_ctx, part, description, br =>
        {
            using var ms = new MemoryStream();
            br.BaseStream.CopyTo(ms);
            return ms.ToArray();
        });
        _sums.Verify(part, description, ModelChecksums.Hash(bytes));
        return bytes;
    }

    /// <summary>Streams a named part (of <c>length</c> bytes) into <paramref name="read"/> while hashing it, without
    /// holding it in memory. When <paramref name="read"/> fails, the hash decides whether the part is damaged (the usual
    /// case) or was written wrong.</summary>
    public void ReadStreaming(string part, string description, Action<Stream, long> read) =>
        Extract(_ctx, part, description, br =>
        {
            var stream = br.BaseStream;
            long length = stream.Length - stream.Position;
            using var hashing = HashingStream.ForReading(stream);
            Exception? failure = null;
            try
            {
                read(hashing, length);
            }
            catch (Exception ex) when (IsReadFailure(ex))
            {
                failure = ex;
            }
            hashing.ReadToEnd();
            _sums.Verify(part, description, hashing.GetHashAndReset());
            return failure is null ? true : throw CannotRead(part, description, failure);
        });

    /// <summary>Whether an exception is a reader's complaint about the bytes (not one of ours, which name the part already).</summary>
    private static bool IsReadFailure(Exception ex) =>
        ex is IOException or FormatException or ArgumentException or JsonException ||
        ex is InvalidDataException && !ex.Message.StartsWith("The model file", StringComparison.Ordinal);

    /// <summary>Opens a named entry and reads it with <paramref name="read"/>; a missing entry, or one the zip layer
    /// cannot extract, is an error naming it.</summary>
    private static T Extract<T>(object ctx, string part, string description, Func<BinaryReader, T> read)
    {
        T result = default!;
        bool found;
        try
        {
            found = MlNetInterop.TryLoadBinaryStream(ctx, part, br => result = read(br));
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            throw CannotExtract(part, description, ex);
        }
        return found ? result : throw new InvalidDataException($"The model file is damaged: it has no {description} (entry '{part}').");
    }

    private static T Parse<T>(byte[] bytes, string part, string description, Func<BinaryReader, T> parse)
    {
        using var br = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            return parse(br);
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            throw CannotRead(part, description, ex);
        }
    }

    private static InvalidDataException CannotExtract(string part, string description, Exception ex) =>
        new($"The model file is damaged: its {description} (entry '{part}') cannot be extracted: {ex.Message}", ex);

    private static InvalidDataException CannotRead(string part, string description, Exception ex) =>
        new($"The model file's {description} (entry '{part}') cannot be read: {ex.Message}", ex);
}
