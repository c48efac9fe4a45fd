using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Molyneux.Worlds.Emoji;
using SkiaSharp;

namespace Molyneux.Tests.Worlds;

public class EmojiVisualWordsTests
{
    [Fact]
    public void EmojiVisualWords_RedDisc_IsRedAndRound()
    {
        var words = EmojiVisualWords.Describe(Paint.Disc(64, 32, 32, 24, (220, 30, 30)), 64, 64);

        Assert.Equal(["red"], words.Colors);
        Assert.Equal(["round"], words.Shapes);
    }

    [Fact]
    public void EmojiVisualWords_TallThinGreenBar_IsGreenAndTall()
    {
        var words = EmojiVisualWords.Describe(Paint.Rectangle(64, 28, 4, 8, 56, (40, 170, 60)), 64, 64);

        Assert.Equal(["green"], words.Colors);
        Assert.Contains("tall", words.Shapes);
        Assert.Contains("long", words.Shapes);
        Assert.DoesNotContain("round", words.Shapes);
        Assert.DoesNotContain("wide", words.Shapes);
    }

    [Fact]
    public void EmojiVisualWords_SmallWideBlueBar_IsBlueWideAndSmall()
    {
        var words = EmojiVisualWords.Describe(Paint.Rectangle(64, 20, 28, 24, 8, (30, 80, 220)), 64, 64);

        Assert.Equal(["blue"], words.Colors);
        Assert.Equal(["long", "wide", "small"], words.Shapes);
    }

    /// <summary>OpenMoji is rasterized opaque on white: the outside white is background, the white enclosed
    /// by the black outline is part of the emoji.</summary>
    [Fact]
    public void EmojiVisualWords_OutlinedWhiteDiscOnOpaqueWhite_IsWhiteAndBlackAndRound()
    {
        const int size = 64;
        var rgba = Paint.Opaque(size, (255, 255, 255));
        Paint.Over(rgba, size, (x, y) =>
        {
            var distance = Math.Sqrt((x + 0.5 - 32) * (x + 0.5 - 32) + (y + 0.5 - 32) * (y + 0.5 - 32));
            return distance <= 26 && distance > 21 ? (0, 0, 0) : null;
        });

        var words = EmojiVisualWords.Describe(rgba, size, size);

        Assert.Equal(["white", "black"], words.Colors);
        Assert.Equal(["round"], words.Shapes);
    }

    [Fact]
    public void EmojiVisualWords_AllBackground_HasNoWords()
    {
        var words = EmojiVisualWords.Describe(new byte[16 * 16 * 4], 16, 16);

        Assert.Empty(words.All);
    }

    [Theory]
    [InlineData(230, 20, 20, "red")]
    [InlineData(255, 140, 0, "orange")]
    [InlineData(255, 215, 40, "yellow")]
    [InlineData(30, 150, 50, "green")]
    [InlineData(30, 90, 230, "blue")]
    [InlineData(130, 50, 180, "purple")]
    [InlineData(255, 105, 180, "pink")]
    [InlineData(250, 160, 160, "pink")]
    [InlineData(139, 69, 19, "brown")]
    [InlineData(10, 10, 10, "black")]
    [InlineData(250, 250, 250, "white")]
    [InlineData(128, 128, 128, "gray")]
    public void EmojiVisualWords_NamesPaletteColors(int red, int green, int blue, string expected)
    {
        Assert.Contains(expected, EmojiVisualWords.ColorNames);
        Assert.Equal(expected, EmojiVisualWords.NameColor((byte)red, (byte)green, (byte)blue));
    }
}

public class EmojiManifestTests
{
    [Fact]
    public void EmojiManifest_BuildFromFakeLayout_KeepsBaseEmojiWithTheirStylesLabelsAndCaptions()
    {
        using var temp = new TestPaths.TempFolder();
        var folder = FakeEmoji.WriteInstalledLayout(temp.Path);

        var manifest = EmojiManifest.Build(folder, new Dictionary<string, string> { ["emoji-datasource"] = "16.0.0" });

        // The skin-tone swatch (Component) and the obsoleted entry are dropped; the cactus has no image at all.
        Assert.Equal(["grinning", "flamingo"], manifest.Concepts.Select(concept => concept.ShortName));
        Assert.Equal(["google", "twitter", "openmoji"], manifest.Styles);
        var grinning = manifest.Find("grinning");
        Assert.Equal("grinning face", grinning.Label);
        Assert.Equal(["face", "grin"], grinning.Tags);
        Assert.Equal(("Smileys & Emotion", "face-smiling"), (grinning.Group, grinning.Subgroup));
        Assert.Equal(["google", "twitter"], grinning.Images.Keys);
        Assert.Equal("grinning face: face, grin; red, round", grinning.Images["google"].Caption);
        Assert.Equal("grinning face: face, grin; green, long, tall", grinning.Images["twitter"].Caption);
        Assert.True(File.Exists(manifest.ImagePath(grinning.Images["google"])));
        // emojibase writes the flamingo without the FE0F that emoji-datasource has.
        var flamingo = manifest.Find("flamingo");
        Assert.Equal("flamingo", flamingo.Label);
        Assert.Equal(["openmoji"], flamingo.Images.Keys);
    }

    [Fact]
    public void EmojiManifest_WriteThenRead_RoundTrips()
    {
        using var temp = new TestPaths.TempFolder();
        var built = EmojiManifest.Build(FakeEmoji.WriteInstalledLayout(temp.Path), new Dictionary<string, string> { ["openmoji"] = "17.0.0" });

        built.Write();
        var read = EmojiManifest.Read(Path.Combine(built.Folder, EmojiManifest.FileName));

        Assert.Equal(built.Sources, read.Sources);
        Assert.Equal(built.Styles, read.Styles);
        Assert.Equal(built.Concepts.Count, read.Concepts.Count);
        foreach (var (expected, actual) in built.Concepts.Zip(read.Concepts))
        {
            Assert.Equal((expected.Unified, expected.ShortName, expected.Label, expected.Group, expected.Subgroup),
                (actual.Unified, actual.ShortName, actual.Label, actual.Group, actual.Subgroup));
            Assert.Equal(expected.Tags, actual.Tags);
            Assert.Equal(expected.Images.Keys, actual.Images.Keys);
            foreach (var style in expected.Images.Keys)
            {
                Assert.Equal(expected.Images[style].Caption, actual.Images[style].Caption);
                Assert.Equal(built.ImagePath(expected.Images[style]), read.ImagePath(actual.Images[style]));
            }
        }
    }

    [Fact]
    public void EmojiManifest_Find_UnknownShortName_IsDatasetError()
    {
        using var temp = new TestPaths.TempFolder();
        var manifest = EmojiManifest.Build(FakeEmoji.WriteInstalledLayout(temp.Path), new Dictionary<string, string>());

        var error = Assert.Throws<DatasetException>(() => manifest.Find("unicorn"));
        Assert.Contains("unicorn", error.Message);
    }
}

public class EmojiInstallerTests
{
    [Fact]
    public void EmojiInstaller_SecondRun_RunsNoCommand()
    {
        using var temp = new TestPaths.TempFolder();
        var packages = FakeEmoji.Packages(temp.File("registry"));
        var first = new FakeCommands(packages.Tarballs);

        var installed = EmojiInstaller.Install(temp.File("home"), null, packages.Sources, first);

        Assert.Equal(5, first.Calls("npm"));
        Assert.Equal(["npm"], first.Programs);
        Assert.Equal(["google", "twitter", "openmoji"], installed.Styles);
        // The flamingo's SVG, a pink disc, rasterized in-process on white.
        using (var flamingo = SKBitmap.Decode(installed.ImagePath(installed.Find("flamingo").Images["openmoji"])))
            Assert.Equal((64, 64, new SKColor(0xf4, 0xaa, 0xb9), SKColors.White), (flamingo.Width, flamingo.Height, flamingo.GetPixel(32, 32), flamingo.GetPixel(1, 1)));
        Assert.False(Directory.Exists(temp.File("home/emoji/downloads")));
        var second = new FakeCommands(packages.Tarballs);
        var again = EmojiInstaller.Install(temp.File("home"), null, packages.Sources, second);
        Assert.Empty(second.Programs);
        Assert.Equal(installed.Concepts.Select(concept => concept.ShortName), again.Concepts.Select(concept => concept.ShortName));
    }

    [Fact]
    public void EmojiInstaller_InterruptedRun_ContinuesWhereItStopped()
    {
        using var temp = new TestPaths.TempFolder();
        var packages = FakeEmoji.Packages(temp.File("registry"));
        var failing = new FakeCommands(packages.Tarballs, failPackage: "openmoji");

        Assert.Throws<DatasetException>(() => EmojiInstaller.Install(temp.File("home"), null, packages.Sources, failing));
        Assert.True(Directory.Exists(temp.File("home/emoji/images/twitter")));
        Assert.False(File.Exists(temp.File("home/emoji/manifest.json")));

        var resumed = new FakeCommands(packages.Tarballs);
        var manifest = EmojiInstaller.Install(temp.File("home"), null, packages.Sources, resumed);
        Assert.Equal(["openmoji@17.0.0"], resumed.Packed);
        Assert.Equal(["openmoji"], manifest.Find("flamingo").Images.Keys);
    }

    [Fact]
    public void EmojiInstaller_IntegrityMismatch_IsErrorAndLeavesNothing()
    {
        using var temp = new TestPaths.TempFolder();
        var packages = FakeEmoji.Packages(temp.File("registry"));
        var tampered = packages.Sources with
        {
            Datasource = packages.Sources.Datasource with { Integrity = "sha512-" + Convert.ToBase64String(new byte[64]) },
        };

        var error = Assert.Throws<DatasetException>(() =>
            EmojiInstaller.Install(temp.File("home"), null, tampered, new FakeCommands(packages.Tarballs)));

        Assert.Contains("integrity", error.Message);
        Assert.Empty(Directory.GetFiles(temp.File("home/emoji/downloads"), "*.tgz"));
        Assert.False(Directory.Exists(temp.File("home/emoji/metadata")));
    }

    /// <summary>Both escapes aim inside the test's own folder, so that a broken guard cannot litter elsewhere.</summary>
    [Theory]
    [InlineData("package/../../evil.txt")]
    [InlineData("{temp}/evil.txt")]
    public void EmojiInstaller_TarEntryOutsideThePackage_IsRefused(string entryName)
    {
        using var temp = new TestPaths.TempFolder();
        entryName = entryName.Replace("{temp}", temp.Path);
        var tarball = FakeEmoji.Tarball(temp.File("evil.tgz"), new()
        {
            ["package/emoji.json"] = "[]"u8.ToArray(),
            [entryName] = "gotcha"u8.ToArray(),
        });
        var output = Directory.CreateDirectory(temp.File("out/inner")).FullName;

        var error = Assert.Throws<DatasetException>(() => EmojiInstaller.Extract(tarball, output, name => name));

        Assert.Contains("outside the package", error.Message);
        Assert.Empty(Directory.GetFiles(temp.Path, "evil.txt", SearchOption.AllDirectories));
    }

    [Fact]
    public void EmojiInstaller_PinnedSources_CoverEveryVendorStyle()
    {
        var pinned = EmojiSources.Pinned;

        Assert.Equal(EmojiManifest.VendorStyles, EmojiManifest.VendorStyles.Where(pinned.Vendors.ContainsKey));
        Assert.All(pinned.All, package => Assert.Matches("^sha512-[A-Za-z0-9+/]{86}==$", package.Integrity));
    }

    /// <summary>The real thing: downloads about 370 MB from npm and rasterizes OpenMoji (a minute or a few).
    /// Installs into the Molyneux home, so a later run finds the install and only checks it.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void EmojiInstaller_RealInstall_HasEnoughConceptsAndDescribableHeldOutConcepts()
    {
        var manifest = EmojiInstaller.Install(MolyneuxHome.Default);

        Assert.Equal(EmojiManifest.AllStyles, manifest.Styles);
        Assert.True(manifest.Concepts.Count(concept => concept.Images.Count >= 4) >= 1500);
        Assert.All(manifest.Concepts.Take(50).SelectMany(concept => concept.Images.Values),
            image => Assert.True(File.Exists(manifest.ImagePath(image)), image.Path));
        var images = manifest.Concepts.SelectMany(concept => concept.Images.Values).ToArray();
        Assert.Subset(EmojiVisualWords.ColorNames.ToHashSet(), images.SelectMany(image => image.Colors).ToHashSet());
        Assert.Subset(EmojiVisualWords.ShapeNames.ToHashSet(), images.SelectMany(image => image.Shapes).ToHashSet());
        EmojiSplitsTests.AssertDescribableWithoutTheirNames(manifest, new EmojiSplitOptions());
    }
}

public class EmojiSplitsTests
{
    [Fact]
    public void EmojiSplits_HeldOutConcept_IsInNoPretrainingImageAndTestedInEveryStyle()
    {
        using var temp = new TestPaths.TempFolder();
        var manifest = EmojiManifest.Build(FakeEmoji.WriteInstalledLayout(temp.Path), new Dictionary<string, string>());
        var options = new EmojiSplitOptions
        {
            PretrainStyles = ["google", "openmoji"],
            HeldOutStyles = ["twitter"],
            HeldOutConcepts = [new("flamingo", ["red round face"], "emoji:flamingo")],
        };

        var split = EmojiSplits.Split(manifest, options);

        Assert.Equal([("grinning", "google")], split.Pretrain.Select(sample => (sample.Concept.ShortName, sample.Style)));
        Assert.Equal([("grinning", "twitter")], split.StyleTest.Select(sample => (sample.Concept.ShortName, sample.Style)));
        Assert.Equal([("flamingo", "openmoji")], split.ConceptTest.Select(sample => (sample.Concept.ShortName, sample.Style)));
        Assert.Empty(split.UnseenWords("a red round face"));
        Assert.Equal(["pink", "bird"], split.UnseenWords("a pink bird with faces"));
    }

    [Fact]
    public void EmojiSplits_ValidationSplit_HoldsOutTheLastPretrainingStyleAndNeverLoadsTheTestStyle()
    {
        using var temp = new TestPaths.TempFolder();
        var manifest = EmojiManifest.Build(FakeEmoji.WriteInstalledLayout(temp.Path), new Dictionary<string, string>());
        var test = new EmojiSplitOptions { PretrainStyles = ["google", "openmoji"], HeldOutStyles = ["twitter"], HeldOutConcepts = [] };

        var validation = EmojiSplits.Split(manifest, test.ForValidation());

        Assert.Equal(["google"], validation.Options.PretrainStyles);
        Assert.Equal(["openmoji"], validation.Options.HeldOutStyles);
        Assert.Equal([("grinning", "google")], validation.Pretrain.Select(sample => (sample.Concept.ShortName, sample.Style)));
        Assert.All(validation.StyleTest, sample => Assert.Equal("openmoji", sample.Style));
        Assert.Throws<OptionException>(() => (test with { PretrainStyles = ["google"] }).ForValidation());
    }

    [Fact]
    public void EmojiSplits_BadOptions_AreErrors()
    {
        using var temp = new TestPaths.TempFolder();
        var manifest = EmojiManifest.Build(FakeEmoji.WriteInstalledLayout(temp.Path), new Dictionary<string, string>());
        var none = new EmojiSplitOptions { HeldOutConcepts = [] };

        Assert.Throws<OptionException>(() => EmojiSplits.Split(manifest, none with { PretrainStyles = ["apple"], HeldOutStyles = [] }));
        Assert.Throws<OptionException>(() => EmojiSplits.Split(manifest, none with { PretrainStyles = ["google"], HeldOutStyles = ["google"] }));
        Assert.Throws<DatasetException>(() => EmojiSplits.Split(manifest, none with
        {
            PretrainStyles = ["google"], HeldOutStyles = ["twitter"], HeldOutConcepts = [new("unicorn", ["horse with a horn"], "emoji:unicorn_face")],
        }));
        Assert.Throws<DatasetException>(() => EmojiSplits.Split(manifest, none with
        {
            PretrainStyles = ["google"], HeldOutStyles = ["twitter"], HeldOutConcepts = [new("flamingo", ["pink bird"], "flamingo.png")],
        }));
    }

    [Fact]
    public void EmojiSplits_DefaultHeldOutConcepts_AreTwentyDescribedWithoutTheirNames()
    {
        var concepts = EmojiSplits.DefaultHeldOutConcepts;

        Assert.Equal(20, concepts.Count);
        Assert.Equal(concepts.Count, concepts.Select(concept => concept.Images).Distinct().Count());
        Assert.All(concepts, concept =>
        {
            Assert.StartsWith(ConceptsFile.EmojiPrefix, concept.Images);
            Assert.DoesNotContain(concept.Name, EmojiSplit.Words(Assert.Single(concept.Descriptions)));
        });
    }

    /// <summary>Each held-out concept's description must be made of words the pretraining captions taught, and
    /// must not give away the concept's label.</summary>
    internal static void AssertDescribableWithoutTheirNames(EmojiManifest manifest, EmojiSplitOptions options)
    {
        var split = EmojiSplits.Split(manifest, options);
        Assert.All(options.HeldOutConcepts, concept =>
        {
            var description = Assert.Single(concept.Descriptions);
            Assert.Empty(split.UnseenWords(description));
            var label = manifest.Find(concept.Images![ConceptsFile.EmojiPrefix.Length..]).Label;
            Assert.Empty(EmojiSplit.Words(description).Intersect(EmojiSplit.Words(label)));
        });
    }
}

/// <summary>Synthetic RGBA images: shapes of one colour on a transparent background.</summary>
internal static class Paint
{
    public static byte[] Disc(int size, double centerX, double centerY, double radius, (byte, byte, byte) color)
    {
        var rgba = new byte[size * size * 4];
        Over(rgba, size, (x, y) => (x + 0.5 - centerX) * (x + 0.5 - centerX) + (y + 0.5 - centerY) * (y + 0.5 - centerY) <= radius * radius ? color : null);
        return rgba;
    }

    public static byte[] Rectangle(int size, int left, int top, int width, int height, (byte, byte, byte) color)
    {
        var rgba = new byte[size * size * 4];
        Over(rgba, size, (x, y) => x >= left && x < left + width && y >= top && y < top + height ? color : null);
        return rgba;
    }

    public static byte[] Opaque(int size, (byte, byte, byte) color)
    {
        var rgba = new byte[size * size * 4];
        Over(rgba, size, (_, _) => color);
        return rgba;
    }

    /// <summary>Paints opaque <paramref name="color"/> wherever it returns one.</summary>
    public static void Over(byte[] rgba, int size, Func<int, int, (byte R, byte G, byte B)?> color)
    {
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            if (color(x, y) is not { } c) continue;
            var i = 4 * (y * size + x);
            (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (c.R, c.G, c.B, 255);
        }
    }

    public static byte[] Png(byte[] rgba, int size)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        rgba.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

/// <summary>A miniature of the npm packages: the same layouts, four emoji, synthetic drawings.</summary>
internal static class FakeEmoji
{
    /// <summary>emoji-datasource's emoji.json: a face drawn by Google and Twitter, a flamingo (written with
    /// FE0F to differ from emojibase) drawn by OpenMoji only, a cactus drawn by nobody, a skin-tone swatch and
    /// an entry replaced by a gendered one.</summary>
    private const string DatasourceJson = """
        [
          {"name": "GRINNING FACE", "unified": "1F600", "image": "1f600.png", "short_name": "grinning", "category": "Smileys & Emotion", "subcategory": "face-smiling", "sort_order": 1,
           "skin_variations": {"1F3FB": {"unified": "1F600-1F3FB", "image": "1f600-1f3fb.png"}}},
          {"name": "FLAMINGO", "unified": "1F9A9-FE0F", "image": "1f9a9-fe0f.png", "short_name": "flamingo", "category": "Animals & Nature", "subcategory": "animal-bird", "sort_order": 2},
          {"name": "CACTUS", "unified": "1F335", "image": "1f335.png", "short_name": "cactus", "category": "Animals & Nature", "subcategory": "plant-other", "sort_order": 3},
          {"name": "EMOJI MODIFIER FITZPATRICK TYPE-1-2", "unified": "1F3FB", "image": "1f3fb.png", "short_name": "skin-tone-2", "category": "Component", "subcategory": "skin-tone", "sort_order": 4},
          {"name": "RUNNER", "unified": "1F3C3", "image": "1f3c3.png", "short_name": "runner", "category": "People & Body", "subcategory": "person-activity", "sort_order": 5, "obsoleted_by": "1F3C3-200D-2642-FE0F"}
        ]
        """;

    private const string EmojibaseJson = """
        [
          {"label": "grinning face", "hexcode": "1F600", "tags": ["face", "grin"], "skins": [{"label": "grinning face: light skin tone", "hexcode": "1F600-1F3FB"}]},
          {"label": "flamingo", "hexcode": "1F9A9"},
          {"label": "cactus", "hexcode": "1F335", "tags": ["plant"]}
        ]
        """;

    private const string Svg = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72"><circle cx="36" cy="36" r="30" fill="#f4aab9"/></svg>""";

    private static byte[] RedDisc => Paint.Png(Paint.Disc(64, 32, 32, 24, (220, 30, 30)), 64);

    private static byte[] GreenBar => Paint.Png(Paint.Rectangle(64, 28, 4, 8, 56, (40, 170, 60)), 64);

    /// <summary>The folder <c>home/emoji</c> as an install leaves it (before the manifest).</summary>
    public static string WriteInstalledLayout(string home)
    {
        var folder = Path.Combine(home, "emoji");
        Write(Path.Combine(folder, "metadata/emoji-datasource/emoji.json"), Encoding.UTF8.GetBytes(DatasourceJson));
        Write(Path.Combine(folder, "metadata/emojibase-data/data.json"), Encoding.UTF8.GetBytes(EmojibaseJson));
        Write(Path.Combine(folder, "images/google/1f600.png"), RedDisc);
        Write(Path.Combine(folder, "images/twitter/1f600.png"), GreenBar);
        Write(Path.Combine(folder, "images/openmoji/1f9a9-fe0f.png"), RedDisc);
        return folder;
    }

    /// <summary>Tarballs in npm's layout (everything under <c>package/</c>, plus files the installer must leave
    /// out) and sources pinned to their hashes.</summary>
    public static (EmojiSources Sources, Dictionary<string, string> Tarballs) Packages(string folder)
    {
        Directory.CreateDirectory(folder);
        var tarballs = new Dictionary<string, string>();
        NpmPackage Pack(string name, string version, Dictionary<string, byte[]> files)
        {
            var path = Tarball(Path.Combine(folder, $"{name}-{version}.tgz"), files);
            using var stream = File.OpenRead(path);
            var package = new NpmPackage(name, version, "sha512-" + Convert.ToBase64String(SHA512.HashData(stream)));
            tarballs[package.Spec] = path;
            return package;
        }
        NpmPackage Vendor(string style, byte[] face) => Pack($"emoji-datasource-{style}", "16.0.0", new()
        {
            ["package/emoji.json"] = Encoding.UTF8.GetBytes(DatasourceJson),
            [$"package/img/{style}/64/1f600.png"] = face,
            [$"package/img/{style}/64/1f600-1f3fb.png"] = face,
            [$"package/img/{style}/sheets/64.png"] = face,
        });
        var sources = new EmojiSources(
            Pack("emoji-datasource", "16.0.0", new()
            {
                ["package/emoji.json"] = Encoding.UTF8.GetBytes(DatasourceJson),
                ["package/LICENSE"] = "MIT"u8.ToArray(),
                ["package/img/google/sheets/32.png"] = RedDisc,
            }),
            Pack("emojibase-data", "17.0.0", new()
            {
                ["package/en/data.json"] = Encoding.UTF8.GetBytes(EmojibaseJson),
                ["package/fr/data.json"] = "[]"u8.ToArray(),
                ["package/LICENSE"] = "MIT"u8.ToArray(),
            }),
            new Dictionary<string, NpmPackage> { ["google"] = Vendor("google", RedDisc), ["twitter"] = Vendor("twitter", GreenBar) },
            Pack("openmoji", "17.0.0", new()
            {
                ["package/color/svg/1F9A9.svg"] = Encoding.UTF8.GetBytes(Svg),
                ["package/black/svg/1F9A9.svg"] = Encoding.UTF8.GetBytes(Svg),
                ["package/LICENSE.txt"] = "CC BY-SA 4.0"u8.ToArray(),
            }));
        return (sources, tarballs);
    }

    public static string Tarball(string path, Dictionary<string, byte[]> files)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (name, content) in files)
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        return path;
    }

    private static void Write(string path, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }
}

/// <summary>Stands in for npm (copying the fake tarballs), and counts what it was asked to run.</summary>
internal sealed class FakeCommands(Dictionary<string, string> tarballs, string? failPackage = null) : ICommandRunner
{
    private readonly ConcurrentQueue<(string Program, IReadOnlyList<string> Arguments)> calls = new();

    public int Calls(string program) => calls.Count(call => call.Program == program);

    public IReadOnlyList<string> Programs => calls.Select(call => call.Program).Distinct().ToArray();

    public IReadOnlyList<string> Packed => calls.Where(call => call.Program == "npm").Select(call => call.Arguments[1]).ToArray();

    public CommandResult? Run(string program, IReadOnlyList<string> arguments)
    {
        calls.Enqueue((program, arguments));
        switch (program)
        {
            case "npm":
                var spec = arguments[1];
                if (failPackage is not null && spec.StartsWith(failPackage + "@", StringComparison.Ordinal))
                    return new CommandResult(1, "", "npm error network: simulated outage");
                var destination = After(arguments, "--pack-destination");
                File.Copy(tarballs[spec], Path.Combine(destination, Path.GetFileName(tarballs[spec])));
                return new CommandResult(0, "", "");
            default:
                return null;
        }
    }

    private static string After(IReadOnlyList<string> arguments, string flag) => arguments[arguments.ToList().IndexOf(flag) + 1];
}
