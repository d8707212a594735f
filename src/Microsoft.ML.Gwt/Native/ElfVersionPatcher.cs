using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.Gwt.Native;

/// <summary>
/// A small, bounds-checked reader and patcher for the symbol-versioning sections of 64-bit little-endian ELF
/// shared libraries (<c>.gnu.version</c>, <c>.gnu.version_r</c>, <c>.gnu.version_d</c>).
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> was linked against GCC 13's libstdc++ and so requires the version
/// <c>GLIBCXX_3.4.32</c>, which GCC 12's libstdc++ (Debian 12) lacks. Only one symbol carries that version,
/// <c>std::ios_base_library_init()</c>, and nothing relocates against it (GCC 13 emits it only to pull in the
/// library that initialises <c>std::cout</c>). <see cref="RelaxVersionRequirements"/> marks such a requirement
/// <c>VER_FLG_WEAK</c> and clears the version of the symbols that use it, which is what
/// <c>patchelf --clear-symbol-version</c> does, without any external tool.
/// </remarks>
public static class ElfVersionPatcher
{
    private const uint ShtDynsym = 11;
    private const uint ShtRela = 4;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlagWeak = 0x2;
    private const ushort VersymGlobal = 1;

    /// <summary>A version requirement of a library on one of its dependencies.</summary>
    /// <param name="File">The dependency's file name, e.g. <c>libstdc++.so.6</c>.</param>
    /// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
    /// <param name="Weak">Whether the requirement is already marked weak.</param>
    public readonly record struct VersionNeed(string File, string Version, bool Weak);

    /// <summary>Lists the version requirements (<c>.gnu.version_r</c>) of an ELF shared library.</summary>
    public static IReadOnlyList<VersionNeed> ReadVersionNeeds(byte[] image)
    {
        var elf = new ElfImage(image);
        var result = new List<VersionNeed>();
        foreach (var aux in elf.EnumerateVernaux())
        {
            result.Add(new VersionNeed(aux.File, aux.Name, (aux.Flags & VerFlagWeak) != 0));
        }
        return result;
    }

    /// <summary>Lists the version names that an ELF shared library defines (<c>.gnu.version_d</c>).</summary>
    public static IReadOnlySet<string> ReadVersionDefinitions(byte[] image) => new ElfImage(image).ReadVerdefNames();

    /// <summary>
    /// Marks the requirements of <paramref name="image"/> on <paramref name="file"/> versions for which
    /// <paramref name="isMissing"/> returns true as weak, and clears the version of every symbol bound to them.
    /// </summary>
    /// <returns>The versions that were relaxed; empty when nothing needed to change.</returns>
    /// <exception cref="FormatException">The image is not a well-formed 64-bit little-endian ELF file.</exception>
    /// <exception cref="NotSupportedException">A symbol bound to a missing version is used by a relocation, so
    /// clearing its version would only move the failure to run time.</exception>
    public static IReadOnlyList<string> RelaxVersionRequirements(byte[] image, string file, Func<string, bool> isMissing)
    {
        var elf = new ElfImage(image);
        var relaxed = new List<string>();
        var indices = new HashSet<ushort>();
        foreach (var aux in elf.EnumerateVernaux())
        {
            if (aux.File != file || !isMissing(aux.Name))
            {
                continue;
            }
            indices.Add(aux.Other);
            if ((aux.Flags & VerFlagWeak) == 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(checked((int)aux.FlagsOffset)), (ushort)(aux.Flags | VerFlagWeak));
            }
            relaxed.Add(aux.Name);
        }
        if (indices.Count == 0)
        {
            return relaxed;
        }

        var relocated = elf.ReadRelocatedSymbolIndices();
        var (versymOffset, count) = elf.VersymTable();
        for (long i = 0; i < count; i++)
        {
            var at = checked((int)(versymOffset + 2 * i));
            var version = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(at)) & 0x7fff);
            if (!indices.Contains(version))
            {
                continue;
            }
            if (relocated.Contains(i))
            {
                throw new NotSupportedException(
                    $"Symbol #{i} ({elf.SymbolName(i)}) requires a {file} version this system lacks and is used by a relocation; " +
                    "a newer libstdc++ (GCC 13 or later) is needed.");
            }
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(at), VersymGlobal);
        }
        return relaxed;
    }

    private readonly record struct Section(uint Type, long Offset, long Size, uint Link, long EntSize);

    private readonly record struct Vernaux(string File, string Name, ushort Flags, ushort Other, long FlagsOffset);

    private sealed class ElfImage
    {
        private readonly byte[] _b;
        private readonly Section[] _sections;

        public ElfImage(byte[] image)
        {
            _b = image ?? throw new ArgumentNullException(nameof(image));
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            {
                throw new FormatException("Not an ELF file (bad magic).");
            }
            if (image[4] != 2 || image[5] != 1)
            {
                throw new FormatException("Only 64-bit little-endian ELF files are supported.");
            }
            long shoff = (long)U64(0x28);
            int shentsize = U16(0x3A);
            int shnum = U16(0x3C);
            if (shentsize != 64 || shoff <= 0 || shoff + (long)shnum * 64 > image.Length)
            {
                throw new FormatException("ELF section header table lies outside the file.");
            }
            _sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + 64L * i;
                var s = new Section(U32(h + 4), (long)U64(h + 24), (long)U64(h + 32), U32(h + 40), (long)U64(h + 56));
                if (s.Type != 8 /* NOBITS */ && (s.Offset < 0 || s.Size < 0 || s.Offset + s.Size > image.Length))
                {
                    throw new FormatException($"ELF section #{i} lies outside the file.");
                }
                _sections[i] = s;
            }
        }

        public IEnumerable<Vernaux> EnumerateVernaux()
        {
            foreach (var sec in _sections.Where(s => s.Type == ShtGnuVerneed))
            {
                var strtab = StringTable(sec.Link);
                long entry = sec.Offset;
                for (int guard = 0; guard < 4096; guard++)
                {
                    Check(entry, 16, sec);
                    int cnt = U16(entry + 2);
                    string fileName = ReadString(strtab, U32(entry + 4));
                    long aux = entry + U32(entry + 8);
                    for (int a = 0; a < cnt; a++)
                    {
                        Check(aux, 16, sec);
                        yield return new Vernaux(fileName, ReadString(strtab, U32(aux + 8)), U16(aux + 4), U16(aux + 6), aux + 4);
                        uint nextAux = U32(aux + 12);
                        if (nextAux == 0)
                        {
                            break;
                        }
                        aux += nextAux;
                    }
                    uint next = U32(entry + 12);
                    if (next == 0)
                    {
                        break;
                    }
                    entry += next;
                }
            }
        }

        public IReadOnlySet<string> ReadVerdefNames()
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sec in _sections.Where(s => s.Type == ShtGnuVerdef))
            {
                var strtab = StringTable(sec.Link);
                long entry = sec.Offset;
                for (int guard = 0; guard < 65536; guard++)
                {
                    Check(entry, 20, sec);
                    int cnt = U16(entry + 6);
                    if (cnt > 0)
                    {
                        long aux = entry + U32(entry + 12);
                        Check(aux, 8, sec);
                        names.Add(ReadString(strtab, U32(aux)));
                    }
                    uint next = U32(entry + 16);
                    if (next == 0)
                    {
                        break;
                    }
                    entry += next;
                }
            }
            return names;
        }

        public (long Offset, long Count) VersymTable()
        {
            var sec = _sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            return sec.Type == 0 ? (0, 0) : (sec.Offset, sec.Size / 2);
        }

        public HashSet<long> ReadRelocatedSymbolIndices()
        {
            var set = new HashSet<long>();
            foreach (var sec in _sections.Where(s => s.Type == ShtRela && s.EntSize == 24))
            {
                for (long at = sec.Offset; at + 24 <= sec.Offset + sec.Size; at += 24)
                {
                    set.Add((long)(U64(at + 8) >> 32));
                }
            }
            return set;
        }

        public string SymbolName(long index)
        {
            var sec = _sections.FirstOrDefault(s => s.Type == ShtDynsym);
            if (sec.Type == 0 || (index + 1) * 24 > sec.Size)
            {
                return "?";
            }
            return ReadString(StringTable(sec.Link), U32(sec.Offset + index * 24));
        }

        private Section StringTable(uint index) =>
            index < _sections.Length ? _sections[index] : throw new FormatException("ELF string table index out of range.");

        private string ReadString(Section strtab, uint offset)
        {
            if (offset >= strtab.Size)
            {
                throw new FormatException("ELF string offset out of range.");
            }
            long start = strtab.Offset + offset;
            long end = start;
            long limit = strtab.Offset + strtab.Size;
            while (end < limit && _b[end] != 0)
            {
                end++;
            }
            return Encoding.ASCII.GetString(_b, (int)start, (int)(end - start));
        }

        private static void Check(long at, int length, Section sec)
        {
            if (at < sec.Offset || at + length > sec.Offset + sec.Size)
            {
                throw new FormatException("ELF version entry lies outside its section.");
            }
        }

        private ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(_b.AsSpan(checked((int)at), 2));
        private uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(checked((int)at), 4));
        private ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(_b.AsSpan(checked((int)at), 8));
    }
}
