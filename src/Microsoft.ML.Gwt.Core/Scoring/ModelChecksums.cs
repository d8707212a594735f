using System.Security.Cryptography;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The SHA-256 of every part of a saved model (settings, encoder config, tokenizer, label values, weights), stored in
/// the model file as its own entry and verified on load, so that a damaged file fails with an
/// <see cref="InvalidDataException"/> that names the damaged part instead of loading a model that scores wrong. The
/// table carries its own SHA-256, so damage to the table itself is reported as such.
/// </summary>
public sealed class ModelChecksums
{
    /// <summary>The entry that holds the table.</summary>
    public const string EntryName = "Checksums";

    private const int HashBytes = 32;
    private const int MaxParts = 64;
    private readonly Dictionary<string, byte[]> _hashes = new(StringComparer.Ordinal);

    /// <summary>Records the hash of a part.</summary>
    public void Add(string part, byte[] hash) => _hashes[part] = hash;

    /// <summary>The SHA-256 of some bytes.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> bytes) => SHA256.HashData(bytes);

    /// <summary>Writes the table followed by its own SHA-256.</summary>
    public void Write(BinaryWriter writer)
    {
        using var table = new MemoryStream();
        using (var w = new BinaryWriter(table, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(_hashes.Count);
            foreach (var (part, hash) in _hashes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(part);
                w.Write(hash);
            }
        }
        var bytes = table.ToArray();
        writer.Write(bytes.Length);
        writer.Write(bytes);
        writer.Write(Hash(bytes));
    }

    /// <summary>Reads and verifies a table written by <see cref="Write"/>.</summary>
    /// <exception cref="InvalidDataException">The table is damaged.</exception>
    public static ModelChecksums Read(BinaryReader reader)
    {
        try
        {
            int length = reader.ReadInt32();
            if (length < 4 || length > MaxParts * (HashBytes + 64))
            {
                throw Damaged($"it claims {length} bytes");
            }
            var bytes = reader.ReadBytes(length);
            var stored = reader.ReadBytes(HashBytes);
            if (bytes.Length != length || stored.Length != HashBytes)
            {
                throw Damaged("it is truncated");
            }
            if (!stored.AsSpan().SequenceEqual(Hash(bytes)))
            {
                throw Damaged("its own SHA-256 does not match");
            }
            var result = new ModelChecksums();
            using var r = new BinaryReader(new MemoryStream(bytes));
            int count = r.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                result._hashes[r.ReadString()] = r.ReadBytes(HashBytes);
            }
            return result;
        }
        catch (EndOfStreamException ex)
        {
            throw Damaged("it is truncated: " + ex.Message);
        }
    }

    /// <summary>Checks a part's bytes against the table.</summary>
    /// <exception cref="InvalidDataException">The part is not in the table or its hash differs; the message names the part.</exception>
    public void Verify(string part, string description, byte[] actualHash)
    {
        if (!_hashes.TryGetValue(part, out var expected))
        {
            throw new InvalidDataException($"The model file is damaged: its checksum table has no entry for the {description} ('{part}').");
        }
        if (!expected.AsSpan().SequenceEqual(actualHash))
        {
            throw new InvalidDataException($"The model file is damaged: SHA-256 mismatch in the {description} (entry '{part}').");
        }
    }

    private static InvalidDataException Damaged(string why) =>
        new($"The model file is damaged: its checksum table ('{EntryName}') cannot be read ({why}).");
}
