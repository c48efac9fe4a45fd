using System.Reflection;
using System.Runtime.Versioning;
using static TorchSharp.torch;

namespace Molyneux.Tests.Build;

/// <summary>The build-time edit that lets TorchSharp's native library load with a libstdc++ older than GCC 13
/// (build/libstdcxx/LibstdcxxCompatibility.cs): on the library as NuGet ships it, and on the copy this test run
/// loaded. Linux only, as the library is.</summary>
[SupportedOSPlatform("linux")]
public class LibstdcxxCompatibilityTests
{
    private const string IosBaseLibraryInit = "_ZSt21ios_base_library_initv";

    /// <summary>The library as the TorchSharp package ships it, from the NuGet folder the build restored into.</summary>
    private static string PackagedLibrary()
    {
        var packages = typeof(LibstdcxxCompatibilityTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "NuGetPackageRoot").Value!;
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version!;
        return Path.Combine(packages, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}", "runtimes", "linux-x64", "native", LibstdcxxCompatibility.LibraryName);
    }

    private static byte[] PackagedBytes() => File.ReadAllBytes(PackagedLibrary());

    [Fact]
    public void Patch_RemovesTheGlibcxx3432RequirementAndTheVersionOfItsOneSymbol_AndNothingElse()
    {
        var original = PackagedBytes();
        var before = new ElfVersions(original, "packaged");
        var requirement = before.Requirements.Single(need => need.Version == LibstdcxxCompatibility.MissingVersion);
        var symbol = before.SymbolIndex(IosBaseLibraryInit);
        Assert.Equal("libstdc++.so.6", requirement.File);
        Assert.Equal([symbol], before.SymbolsOfVersion(requirement.Index));

        var patched = (byte[])original.Clone();
        Assert.True(LibstdcxxCompatibility.Patch(patched, "packaged"));

        var after = new ElfVersions(patched, "patched");
        Assert.Equal(before.Requirements.Where(need => need != requirement).Select(need => need.ToString()),
            after.Requirements.Select(need => need.ToString()));
        Assert.Equal(ElfVersions.GlobalVersionIndex, after.SymbolVersion(symbol));
        Assert.Empty(after.SymbolsOfVersion(requirement.Index));
        // Three fields change: the symbol's version, the Verneed's count and the previous Vernaux's link.
        Assert.Equal(original.Length, patched.Length);
        Assert.InRange(original.Zip(patched).Count(pair => pair.First != pair.Second), 1, 6);
    }

    [Fact]
    public void Patch_OfAFile_IsIdempotentAndKeepsModeAndTimestamp()
    {
        using var temp = new TestPaths.TempFolder();
        var library = temp.File(LibstdcxxCompatibility.LibraryName);
        File.Copy(PackagedLibrary(), library);
        File.SetUnixFileMode(library, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);
        var written = new DateTime(2026, 5, 7, 10, 3, 28, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(library, written);

        Assert.True(LibstdcxxCompatibility.Patch(library));
        var once = File.ReadAllBytes(library);
        Assert.False(LibstdcxxCompatibility.Patch(library));

        Assert.Equal(once, File.ReadAllBytes(library));
        Assert.DoesNotContain(ElfVersions.Read(library).Requirements, need => need.Version == LibstdcxxCompatibility.MissingVersion);
        Assert.Equal(written, File.GetLastWriteTimeUtc(library));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead, File.GetUnixFileMode(library));
        Assert.Equal([LibstdcxxCompatibility.LibraryName], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    /// <summary>The edit is only safe because no relocation uses the symbol; a library whose code did call it must
    /// be refused, untouched.</summary>
    [Fact]
    public void Patch_SymbolUsedByARelocation_IsRefusedAndLeavesTheBytes()
    {
        var bytes = PackagedBytes();
        var elf = new ElfVersions(bytes, "relocated");
        elf.SetRelocationSymbol(elf.RelocationEntries().First(), elf.SymbolIndex(IosBaseLibraryInit));
        var edited = (byte[])bytes.Clone();

        var error = Assert.Throws<InvalidDataException>(() => LibstdcxxCompatibility.Patch(bytes, "relocated.so"));

        Assert.Contains("relocated.so", error.Message);
        Assert.Contains(IosBaseLibraryInit + "@GLIBCXX_3.4.32 is used by relocations", error.Message);
        Assert.Equal(edited, bytes);
    }

    [Theory]
    [InlineData("empty", 0)]
    [InlineData("truncated", 4096)]
    public void ElfVersions_NotACompleteElfFile_IsErrorNamingTheFile(string name, int length)
    {
        var bytes = PackagedBytes()[..length];

        var error = Assert.Throws<InvalidDataException>(() => LibstdcxxCompatibility.Patch(bytes, name + ".so"));

        Assert.StartsWith(name + ".so: ", error.Message);
    }

    [Fact]
    public void SystemLibstdcxx_IsTheOneThisProcessLoaded()
    {
        var libstdcxx = LibstdcxxCompatibility.SystemLibstdcxx();

        Assert.NotNull(libstdcxx);
        Assert.Contains(libstdcxx, File.ReadAllText("/proc/self/maps"));
        Assert.True(ElfVersions.Read(libstdcxx).Defines("GLIBCXX_3.4"));
    }

    /// <summary>The copy beside this test assembly is the one the build task handled: edited exactly where the
    /// system's libstdc++ lacks the version, byte for byte the package's elsewhere; and it is loaded and works.</summary>
    [Fact]
    public void BuildOutput_IsPatchedOnlyWhereNeeded_AndLoads()
    {
        var output = LibstdcxxCompatibility.FindLibTorchSharp(AppContext.BaseDirectory);
        Assert.NotNull(output);
        var needed = !ElfVersions.Read(LibstdcxxCompatibility.SystemLibstdcxx()!).Defines(LibstdcxxCompatibility.MissingVersion);

        if (needed)
            Assert.DoesNotContain(ElfVersions.Read(output).Requirements, need => need.Version == LibstdcxxCompatibility.MissingVersion);
        else
            Assert.Equal(PackagedBytes(), File.ReadAllBytes(output));

        using var sum = ones(3).sum();
        Assert.Equal(3f, sum.item<float>());
        Assert.Contains(Path.GetFullPath(output), File.ReadAllText("/proc/self/maps"));
    }
}
