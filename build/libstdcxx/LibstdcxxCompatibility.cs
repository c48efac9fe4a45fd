// Makes TorchSharp's libLibTorchSharp.so load on systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04,
// RHEL 9), with managed code only: no patchelf, no compiler. See docs/native-library.md.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory into the build task that LibstdcxxCompatibility.targets
// runs after every build and publish (hence C# that compiles against netstandard 2.0: no spans, no records), and by
// the test project, which checks the ELF edit itself. The repository's Directory.Build.targets imports those targets;
// the Molyneux package carries them as buildTransitive/Molyneux.targets with this file beside them, so a consumer
// compiles the same task from source.
//
// Why the edit is safe: GCC 13's <iostream> no longer constructs a std::ios_base::Init in every translation unit;
// it names std::ios_base_library_init() (version GLIBCXX_3.4.32) with an assembler `.globl` directive instead, so
// that the link pulls in a libstdc++ that initialises the standard streams itself. The name is an undefined dynamic
// symbol that no relocation uses, so the dynamic loader never looks it up; only its version requirement makes an
// older libstdc++ refuse the library. Removing the requirement (and the symbol's version) changes nothing else:
// the streams are still initialised before the library runs, by the ios_base::Init objects of libc10 and
// libtorch_cpu (built with an older GCC), which the library depends on and which are therefore initialised first.
// The patch refuses any library in which a relocation does use a symbol of that version.

#nullable enable

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;

/// <summary>The MSBuild task: patches <c>libLibTorchSharp.so</c> in a build or publish output when the system's
/// libstdc++ lacks <see cref="LibstdcxxCompatibility.MissingVersion"/>; does nothing otherwise or when already
/// patched.</summary>
public sealed class PatchLibTorchSharpForOldLibstdcxx : Microsoft.Build.Utilities.Task
{
    /// <summary>The build output: the library is looked for there and under <c>runtimes/linux-x64/native</c>.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    public override bool Execute()
    {
        var library = LibstdcxxCompatibility.FindLibTorchSharp(Path.GetFullPath(OutputDirectory));
        if (library == null) return true;
        var libstdcxx = LibstdcxxCompatibility.SystemLibstdcxx();
        if (libstdcxx == null)
        {
            Log.LogMessage(MessageImportance.Low, "no libstdc++.so.6 found on this system; " + library + " left as it is");
            return true;
        }
        try
        {
            if (ElfVersions.Read(libstdcxx).Defines(LibstdcxxCompatibility.MissingVersion)) return true;
            if (LibstdcxxCompatibility.Patch(library))
                Log.LogMessage(MessageImportance.High, "patched " + library + " to load with " + libstdcxx + " (no " + LibstdcxxCompatibility.MissingVersion + ")");
            return true;
        }
        catch (InvalidDataException error)
        {
            Log.LogError(error.Message);
            return false;
        }
    }
}

/// <summary>The edit: drops the library's requirement of <see cref="MissingVersion"/> and the version of the one
/// symbol that carries it.</summary>
public static class LibstdcxxCompatibility
{
    public const string MissingVersion = "GLIBCXX_3.4.32";
    public const string LibraryName = "libLibTorchSharp.so";

    public static string? FindLibTorchSharp(string outputDirectory)
    {
        foreach (var candidate in new[] { Path.Combine(outputDirectory, LibraryName), Path.Combine(outputDirectory, "runtimes", "linux-x64", "native", LibraryName) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    /// <summary>The libstdc++ the dynamic loader gives this process: the dotnet host links it, so it is among the
    /// process's mappings; the usual library folders otherwise.</summary>
    public static string? SystemLibstdcxx()
    {
        const string maps = "/proc/self/maps";
        if (File.Exists(maps))
            foreach (var line in File.ReadLines(maps))
            {
                var slash = line.IndexOf('/');
                if (slash >= 0 && Path.GetFileName(line.Substring(slash)).StartsWith("libstdc++.so.6", StringComparison.Ordinal))
                    return line.Substring(slash);
            }
        foreach (var folder in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
        {
            var candidate = Path.Combine(folder, "libstdc++.so.6");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Rewrites <paramref name="library"/> in place (through a temporary file and a rename, keeping its
    /// timestamp so that MSBuild's incremental copy sees it unchanged). Returns false when there was nothing to do
    /// (already patched, or a build that never needed it).</summary>
    public static bool Patch(string library)
    {
        var bytes = File.ReadAllBytes(library);
        if (!Patch(bytes, library)) return false;
        var written = File.GetLastWriteTimeUtc(library);
        var temporary = library + ".patching";
        // A copy keeps the file's mode; its bytes are then overwritten in place (same length).
        File.Copy(library, temporary, overwrite: true);
        using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.Write))
            stream.Write(bytes, 0, bytes.Length);
        File.SetLastWriteTimeUtc(temporary, written);
        File.Replace(temporary, library, null);
        return true;
    }

    /// <summary>The same edit on the file's bytes; <paramref name="name"/> names it in errors.</summary>
    public static bool Patch(byte[] bytes, string name)
    {
        var elf = new ElfVersions(bytes, name);
        var requirement = elf.Requirements.FirstOrDefault(need => need.Version == MissingVersion);
        if (requirement == null) return false;
        var symbols = elf.SymbolsOfVersion(requirement.Index);
        var relocated = symbols.Where(elf.IsRelocated).ToArray();
        if (relocated.Length > 0)
            throw new InvalidDataException(name + ": " + string.Join(", ", relocated.Select(elf.SymbolName)) + "@" + MissingVersion +
                " is used by relocations, so the library really calls into a libstdc++ from GCC 13 or newer; it cannot be made to load with an older one");
        foreach (var symbol in symbols) elf.SetSymbolVersion(symbol, ElfVersions.GlobalVersionIndex);
        elf.RemoveRequirement(requirement);
        return true;
    }
}

/// <summary>One version requirement of an ELF file: <paramref name="Version"/> of <paramref name="File"/>,
/// numbered <paramref name="Index"/> in the symbol version table; the offsets locate its entries.</summary>
public sealed class VersionRequirement
{
    public VersionRequirement(string file, string version, int index, bool weak, long needOffset, long auxOffset)
    {
        File = file; Version = version; Index = index; Weak = weak; NeedOffset = needOffset; AuxOffset = auxOffset;
    }

    public string File { get; }
    public string Version { get; }
    public int Index { get; }
    public bool Weak { get; }
    internal long NeedOffset { get; }
    internal long AuxOffset { get; }

    public override string ToString() => File + ":" + Version;
}

/// <summary>The symbol-versioning parts of a 64-bit little-endian ELF shared library (System V gABI and the GNU
/// extensions: <c>.dynsym</c>, <c>.gnu.version</c>, <c>.gnu.version_r</c>, <c>.gnu.version_d</c>), read from and
/// edited in its bytes.</summary>
public sealed class ElfVersions
{
    public const int GlobalVersionIndex = 1;
    private const uint DynamicSymbols = 11, Rela = 4, Rel = 9;
    private const uint VersionDefinitions = 0x6ffffffd, VersionNeeds = 0x6ffffffe, SymbolVersions = 0x6fffffff;
    private const int SymbolSize = 24;

    private readonly byte[] bytes;
    private readonly string name;
    private readonly Section[] sections;

    private sealed class Section
    {
        public uint Type;
        public long Offset;
        public long Size;
        public int Link;
        public long EntrySize;
    }

    public ElfVersions(byte[] bytes, string name)
    {
        this.bytes = bytes;
        this.name = name;
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw Invalid("not an ELF file");
        if (bytes[4] != 2 || bytes[5] != 1) throw Invalid("not a 64-bit little-endian ELF file");
        var sectionTable = (long)U64(0x28);
        int entrySize = U16(0x3A), count = U16(0x3C);
        if (entrySize < 64 || sectionTable + (long)entrySize * count > bytes.Length) throw Invalid("its section table lies beyond the end of the file (truncated?)");
        sections = new Section[count];
        for (var i = 0; i < count; i++)
        {
            var header = sectionTable + (long)i * entrySize;
            sections[i] = new Section
            {
                Type = U32(header + 4), Offset = (long)U64(header + 24), Size = (long)U64(header + 32),
                Link = (int)U32(header + 40), EntrySize = (long)U64(header + 56),
            };
            var section = sections[i];
            if (section.Type != 8 /* NOBITS */ && section.Offset + section.Size > bytes.Length)
                throw Invalid("section " + i + " lies beyond the end of the file (truncated?)");
        }
        Requirements = ReadRequirements();
    }

    public static ElfVersions Read(string path) => new ElfVersions(File.ReadAllBytes(path), path);

    /// <summary>Every Vernaux entry, in file order.</summary>
    public IReadOnlyList<VersionRequirement> Requirements { get; private set; }

    /// <summary>Whether the file defines <paramref name="version"/> (a Verdef entry): what a libstdc++ offers.</summary>
    public bool Defines(string version)
    {
        foreach (var section in OfType(VersionDefinitions))
        {
            var strings = sections[section.Link].Offset;
            var definition = section.Offset;
            while (true)
            {
                var firstName = definition + U32(definition + 12);
                if (String(strings + U32(firstName)) == version) return true;
                var next = U32(definition + 16);
                if (next == 0) break;
                definition += next;
            }
        }
        return false;
    }

    /// <summary>The dynamic symbols (by index) whose version index is <paramref name="index"/>.</summary>
    public IReadOnlyList<int> SymbolsOfVersion(int index)
    {
        var versions = Single(SymbolVersions);
        var found = new List<int>();
        for (var symbol = 0; symbol < versions.Size / 2; symbol++)
            if ((U16(versions.Offset + symbol * 2) & 0x7fff) == index) found.Add(symbol);
        return found;
    }

    public int SymbolVersion(int symbol) => U16(Single(SymbolVersions).Offset + symbol * 2) & 0x7fff;

    public string SymbolName(int symbol)
    {
        var symbols = Single(DynamicSymbols);
        return String(sections[symbols.Link].Offset + U32(symbols.Offset + (long)symbol * SymbolSize));
    }

    public int SymbolIndex(string name)
    {
        var symbols = Single(DynamicSymbols);
        for (var symbol = 0; symbol < symbols.Size / SymbolSize; symbol++)
            if (SymbolName(symbol) == name) return symbol;
        throw Invalid("no dynamic symbol named " + name);
    }

    /// <summary>Whether a relocation of the dynamic symbol table names <paramref name="symbol"/>: only then does the
    /// loader look it up.</summary>
    public bool IsRelocated(int symbol) => RelocationEntries().Any(entry => (int)(U64(entry + 8) >> 32) == symbol);

    /// <summary>Offsets of every relocation entry against the dynamic symbols (r_info at +8 in both forms).</summary>
    public IEnumerable<long> RelocationEntries()
    {
        var symbolTable = Array.IndexOf(sections, Single(DynamicSymbols));
        foreach (var section in sections.Where(s => (s.Type == Rela || s.Type == Rel) && s.Link == symbolTable))
        {
            var size = section.EntrySize > 0 ? section.EntrySize : section.Type == Rela ? 24 : 16;
            for (var entry = section.Offset; entry + size <= section.Offset + section.Size; entry += size)
                yield return entry;
        }
    }

    /// <summary>Points the relocation at <paramref name="entry"/> to <paramref name="symbol"/> (tests use it to build
    /// a library the patch must refuse).</summary>
    public void SetRelocationSymbol(long entry, int symbol) =>
        WriteU64(entry + 8, ((ulong)(uint)symbol << 32) | (uint)U64(entry + 8));

    public void SetSymbolVersion(int symbol, int index)
    {
        var entry = Single(SymbolVersions).Offset + symbol * 2;
        WriteU16(entry, (U16(entry) & 0x8000) | index);
    }

    /// <summary>Unlinks the requirement's Vernaux entry from its Verneed's chain and lowers the count; the bytes of
    /// the entry stay, unreferenced. The loader sizes its version table by the indices it meets, so the freed
    /// index is simply unused.</summary>
    public void RemoveRequirement(VersionRequirement requirement)
    {
        var need = requirement.NeedOffset;
        var count = U16(need + 2);
        if (count < 2) throw Invalid("the requirement " + requirement + " is the only one of its file; this edit cannot remove it");
        var next = U32(requirement.AuxOffset + 12);
        var first = need + U32(need + 8);
        if (first == requirement.AuxOffset)
        {
            WriteU32(need + 8, U32(need + 8) + next);
        }
        else
        {
            var previous = first;
            while (previous + U32(previous + 12) != requirement.AuxOffset) previous += U32(previous + 12);
            WriteU32(previous + 12, next == 0 ? 0 : U32(previous + 12) + next);
        }
        WriteU16(need + 2, count - 1);
        Requirements = ReadRequirements();
    }

    private List<VersionRequirement> ReadRequirements()
    {
        var requirements = new List<VersionRequirement>();
        foreach (var section in OfType(VersionNeeds))
        {
            var strings = sections[section.Link].Offset;
            var need = section.Offset;
            while (true)
            {
                var file = String(strings + U32(need + 4));
                var aux = need + U32(need + 8);
                for (var i = 0; i < U16(need + 2); i++)
                {
                    requirements.Add(new VersionRequirement(file, String(strings + U32(aux + 8)), U16(aux + 6), (U16(aux + 4) & 0x2) != 0, need, aux));
                    var nextAux = U32(aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                var next = U32(need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return requirements;
    }

    private IEnumerable<Section> OfType(uint type) => sections.Where(section => section.Type == type);

    private Section Single(uint type) =>
        OfType(type).FirstOrDefault() ?? throw Invalid("it has no section of type 0x" + type.ToString("x") + " (not a dynamically linked library?)");

    private string String(long offset)
    {
        var end = offset;
        while (end < bytes.Length && bytes[end] != 0) end++;
        if (end >= bytes.Length) throw Invalid("a string runs past the end of the file (truncated?)");
        return Encoding.ASCII.GetString(bytes, (int)offset, (int)(end - offset));
    }

    private int U16(long offset) { Check(offset, 2); return BitConverter.ToUInt16(bytes, (int)offset); }
    private uint U32(long offset) { Check(offset, 4); return BitConverter.ToUInt32(bytes, (int)offset); }
    private ulong U64(long offset) { Check(offset, 8); return BitConverter.ToUInt64(bytes, (int)offset); }
    private void WriteU16(long offset, int value) { Check(offset, 2); BitConverter.GetBytes((ushort)value).CopyTo(bytes, offset); }
    private void WriteU32(long offset, uint value) { Check(offset, 4); BitConverter.GetBytes(value).CopyTo(bytes, offset); }
    private void WriteU64(long offset, ulong value) { Check(offset, 8); BitConverter.GetBytes(value).CopyTo(bytes, offset); }

    private void Check(long offset, int size)
    {
        if (offset < 0 || offset + size > bytes.Length) throw Invalid("a table points past the end of the file (truncated?)");
    }

    private InvalidDataException Invalid(string problem) => new InvalidDataException(name + ": " + problem);
}
