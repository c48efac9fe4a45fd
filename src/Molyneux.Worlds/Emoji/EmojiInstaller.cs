using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Molyneux.Runtime;
using SkiaSharp;

namespace Molyneux.Worlds.Emoji;

/// <summary>An npm package pinned to a version and to the Subresource Integrity hash of its tarball
/// (<c>npm view NAME@VERSION dist.integrity</c>), so that what is installed is exactly what was checked.</summary>
public sealed record NpmPackage(string Name, string Version, string Integrity)
{
    public string Spec => $"{Name}@{Version}";
}

/// <summary>The packages an emoji install is made of.</summary>
/// <param name="Datasource">emoji-datasource: names, categories and which image sets draw each emoji.</param>
/// <param name="Emojibase">emojibase-data: the English CLDR labels and keywords.</param>
/// <param name="Vendors">Style name to the emoji-datasource-STYLE package with its 64 px PNGs.</param>
/// <param name="OpenMoji">openmoji: SVGs, rasterized on install.</param>
public sealed record EmojiSources(
    NpmPackage Datasource, NpmPackage Emojibase, IReadOnlyDictionary<string, NpmPackage> Vendors, NpmPackage OpenMoji)
{
    public static EmojiSources Pinned { get; } = new(
        new("emoji-datasource", "16.0.0", "sha512-/qHKqK5Nr3+8zhgO6kHmF43Fm5C8HNn0AaFRIpgw8HF3+uF0Vfc8jgLI1ZQS5ba1vBzksS8NBCjHejwLb2D/Sg=="),
        new("emojibase-data", "17.0.0", "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA=="),
        new Dictionary<string, NpmPackage>
        {
            ["google"] = new("emoji-datasource-google", "16.0.0", "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="),
            ["twitter"] = new("emoji-datasource-twitter", "16.0.0", "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="),
            ["apple"] = new("emoji-datasource-apple", "16.0.0", "sha512-dVYjsK0FnCry9F+PBtnivhG2K0xdwlmqYaSgiUtztUdAGPYiHYhZcVKvNBqC791g2qyEcFNTBO6utg4eQ3uLTw=="),
            ["facebook"] = new("emoji-datasource-facebook", "16.0.0", "sha512-b9ZxJdB7nMWGckH1vyCjPSosaa6MJYuojPPFiQ0LmDIZS8vlG454XKcmTFKrXIMAA72O4MRJMYFhvWI8pjyciQ=="),
        },
        new("openmoji", "17.0.0", "sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w=="));

    public IEnumerable<NpmPackage> All => new[] { Datasource, Emojibase }.Concat(Vendors.Values).Append(OpenMoji);
}

/// <summary>Installs the emoji data set into <c>home/emoji</c>: fetches each pinned package with <c>npm pack</c>,
/// checks its integrity, extracts only the metadata and the 64 px images of base emoji (skin-tone variants,
/// sprite sheets and everything else stay in the tarball), rasterizes OpenMoji's SVGs in-process
/// (<see cref="SvgRasterizer"/>), and writes <c>manifest.json</c>.
///
/// Every step produces one folder (or the manifest) through an atomic rename, and a step whose output exists is
/// skipped, so a second run does nothing and an interrupted run picks up at the step it was in. Each tarball is
/// deleted once extracted, so at most one package is on disk at a time (the largest, with npm's copy of it,
/// takes 200 MB), and a finished install holds only what the manifest points at: about 55 MB instead of 370 MB
/// of tarballs. Installing again is a matter of deleting <c>home/emoji</c>.</summary>
public sealed class EmojiInstaller
{
    private const int ImageSize = 64;

    private readonly string folder;
    private readonly string downloads;
    private readonly IProgress<string>? progress;
    private readonly ICommandRunner commands;

    private EmojiInstaller(string home, IProgress<string>? progress, ICommandRunner commands)
    {
        folder = EmojiLayout.Folder(Path.GetFullPath(home));
        this.downloads = Path.Combine(this.folder, "downloads");
        this.progress = progress;
        this.commands = commands;
    }

    /// <summary>Installs the pinned packages into <paramref name="home"/> (typically
    /// <see cref="MolyneuxHome.Default"/>) and returns the manifest; returns the existing one at once when a
    /// previous install finished.</summary>
    public static EmojiManifest Install(string home, IProgress<string>? progress = null) =>
        Install(home, progress, EmojiSources.Pinned, ProcessRunner.Instance);

    public static EmojiManifest Install(string home, IProgress<string>? progress, EmojiSources sources, ICommandRunner commands)
    {
        var unknown = sources.Vendors.Keys.Except(EmojiManifest.VendorStyles).ToArray();
        if (unknown.Length > 0)
            throw new OptionException($"not a vendor image style: {string.Join(", ", unknown)} (vendor styles: {string.Join(", ", EmojiManifest.VendorStyles)})");
        return new EmojiInstaller(home, progress, commands).Run(sources);
    }

    private EmojiManifest Run(EmojiSources sources)
    {
        var manifestPath = Path.Combine(folder, EmojiManifest.FileName);
        if (File.Exists(manifestPath))
        {
            progress?.Report($"{manifestPath}: already installed");
            return EmojiManifest.Read(manifestPath);
        }
        InstallMetadata(sources);
        var baseEmoji = EmojiManifest.ReadBaseEmoji(this.folder);
        InstallVendorImages(sources, baseEmoji);
        InstallOpenMoji(sources.OpenMoji, baseEmoji);

        var versions = sources.All.ToDictionary(package => package.Name, package => package.Version);
        var manifest = EmojiManifest.Build(this.folder, versions, this.progress);
        manifest.Write();
        // Only what interrupted downloads left behind can remain here.
        if (Directory.Exists(this.downloads)) Directory.Delete(this.downloads, recursive: true);
        this.progress?.Report($"{manifestPath}: {manifest.Concepts.Count} emoji in {manifest.Styles.Count} styles");
        return manifest;
    }

    private void InstallMetadata(EmojiSources sources)
    {
        InstallPackage(sources.Datasource, EmojiLayout.DatasourceFolder(folder), entry => entry switch
        {
            "package/emoji.json" => "emoji.json",
            "package/LICENSE" => "LICENSE",
            _ => null,
        });
        InstallPackage(sources.Emojibase, EmojiLayout.EmojibaseFolder(this.folder), entry => entry switch
        {
            "package/en/data.json" => "data.json",
            "package/LICENSE" => "LICENSE",
            _ => null,
        });
    }

    /// <summary>The 64 px PNGs of the base emoji only: each vendor package also holds every skin-tone variant
    /// and sprite sheets, which the data set does not use.</summary>
    private void InstallVendorImages(EmojiSources sources, IReadOnlyList<EmojiManifest.DatasourceEntry> baseEmoji)
    {
        var wanted = baseEmoji.Select(emoji => emoji.Image).ToHashSet(StringComparer.Ordinal);
        foreach (var style in EmojiManifest.VendorStyles.Where(sources.Vendors.ContainsKey))
        {
            var prefix = $"package/img/{style}/{ImageSize}/";
            InstallPackage(sources.Vendors[style], EmojiLayout.StyleFolder(folder, style), entry =>
                entry.StartsWith(prefix, StringComparison.Ordinal) && wanted.Contains(entry[prefix.Length..]) ? entry[prefix.Length..] : null);
        }
    }

    /// <summary>OpenMoji's colour SVGs of the base emoji, rasterized. OpenMoji names its files by code points;
    /// they are stored under emoji-datasource's image names so that every style folder is indexed the same
    /// way.</summary>
    private void InstallOpenMoji(NpmPackage package, IReadOnlyList<EmojiManifest.DatasourceEntry> baseEmoji)
    {
        var imageByCodePoints = baseEmoji
            .GroupBy(emoji => EmojiManifest.HexKey(emoji.Unified))
            .ToDictionary(group => group.Key, group => group.First().Image);
        const string svgPrefix = "package/color/svg/";
        InstallPackage(package, EmojiLayout.StyleFolder(folder, EmojiManifest.OpenMojiStyle), entry =>
        {
            if (entry == "package/LICENSE.txt") return "LICENSE.txt";
            if (!entry.StartsWith(svgPrefix, StringComparison.Ordinal) || !entry.EndsWith(".svg", StringComparison.Ordinal)) return null;
            var codePoints = EmojiManifest.HexKey(Path.GetFileNameWithoutExtension(entry));
            return imageByCodePoints.TryGetValue(codePoints, out var image) ? Path.Combine("svg", Path.ChangeExtension(image, ".svg")) : null;
        }, RasterizeSvgFolder);
    }

    /// <summary>Fills <paramref name="destination"/> with the entries of the package's tarball that
    /// <paramref name="select"/> maps to a path, then lets <paramref name="finish"/> work on them, all in a
    /// temporary folder renamed into place at the end. Skipped when the folder exists.</summary>
    private void InstallPackage(NpmPackage package, string destination, Func<string, string?> select, Action<string>? finish = null)
    {
        if (Directory.Exists(destination)) return;
        var tarball = Download(package);
        AtomicFile.WriteDirectory(destination, overwrite: false, temporary =>
        {
            var count = Extract(tarball, temporary, select);
            if (count == 0)
                throw new DatasetException($"{tarball}: none of the expected files are in {package.Spec}; its layout is not the one this installer knows");
            progress?.Report($"{package.Spec}: extracted {count} files");
            finish?.Invoke(temporary);
        });
        File.Delete(tarball);
    }

    /// <summary>The package's tarball in the downloads folder, fetched unless an interrupted run left it there,
    /// and checked against the pinned hash either way.</summary>
    private string Download(NpmPackage package)
    {
        var tarball = Path.Combine(downloads, $"{package.Name}-{package.Version}.tgz");
        if (!File.Exists(tarball))
        {
            // npm writes into a folder of its own, and the tarball is moved into place only once complete, so a
            // file at the final name is never a partial download. npm's cache goes in that folder too and is
            // deleted with it: it would otherwise keep a second copy of every tarball in ~/.npm.
            var packing = Path.Combine(this.downloads, $".{package.Name}-{package.Version}.{Guid.NewGuid():N}.tmp");
            Directory.CreateDirectory(packing);
            progress?.Report($"{package.Spec}: npm pack");
            var result = commands.Run("npm",
                ["pack", package.Spec, "--pack-destination", packing, "--cache", Path.Combine(packing, "npm-cache")])
                ?? throw new DatasetException("npm is not installed; it fetches the emoji packages (on Debian or Ubuntu: apt-get install -y npm)");
            if (result.ExitCode != 0)
                throw new DatasetException($"npm pack {package.Spec} failed with exit code {result.ExitCode}: {result.Error.Trim()}");
            var packed = Directory.GetFiles(packing, "*.tgz");
            if (packed.Length != 1)
                throw new DatasetException($"npm pack {package.Spec}: expected one tarball in {packing}, found {packed.Length}");
            File.Move(packed[0], tarball);
            Directory.Delete(packing, recursive: true);
        }
        VerifyIntegrity(tarball, package);
        return tarball;
    }

    internal static void VerifyIntegrity(string tarball, NpmPackage package)
    {
        string actual;
        using (var stream = File.OpenRead(tarball))
            actual = "sha512-" + Convert.ToBase64String(SHA512.HashData(stream));
        if (actual == package.Integrity) return;
        File.Delete(tarball);
        throw new DatasetException(
            $"{tarball}: integrity {actual} does not match the {package.Integrity} pinned for {package.Spec}; the file was deleted");
    }

    /// <summary>Extracts the regular files that <paramref name="select"/> maps to a relative path under
    /// <paramref name="folder"/>; returns how many. An entry whose name is absolute or climbs with ".." makes
    /// the whole archive refused, selected or not: such a tarball was not made by npm. Links are never
    /// extracted, so no entry can redirect a later one outside the folder.</summary>
    internal static int Extract(string tarball, string folder, Func<string, string?> select)
    {
        using var file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var count = 0;
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.Replace('\\', '/');
            if (name.StartsWith('/') || Path.IsPathRooted(name) || name.Split('/').Contains(".."))
                throw new DatasetException($"{tarball}: entry '{entry.Name}' points outside the package; refusing to extract this archive");
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            if (select(name) is not { } relative) continue;
            var target = Path.Combine(folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target, overwrite: true);
            count++;
        }
        return count;
    }

    /// <summary>Renders <c>svg/*.svg</c> under <paramref name="folder"/> to 64 px PNGs on white beside it, then
    /// drops the SVGs: the PNGs are what the manifest uses, and they match the vendor images in size.</summary>
    private void RasterizeSvgFolder(string folder)
    {
        var svgFolder = Path.Combine(folder, "svg");
        var svgs = Directory.GetFiles(svgFolder, "*.svg");
        progress?.Report($"rasterizing {svgs.Length} OpenMoji SVGs to {ImageSize} px PNGs");
        try
        {
            Parallel.ForEach(svgs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, svg =>
                File.WriteAllBytes(Path.Combine(folder, Path.ChangeExtension(Path.GetFileName(svg), ".png")),
                    SvgRasterizer.ToPng(svg, ImageSize, SKColors.White)));
        }
        catch (AggregateException error)
        {
            ExceptionDispatchInfo.Throw(error.InnerExceptions[0]);
        }
        Directory.Delete(svgFolder, recursive: true);
    }
}
