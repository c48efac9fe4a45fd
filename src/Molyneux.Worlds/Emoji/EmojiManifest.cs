using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Molyneux.Runtime;

namespace Molyneux.Worlds.Emoji;

/// <summary>One drawing of a concept: where the PNG is (relative to the manifest), what its pixels show, and the
/// caption that pairs it with text for pretraining.</summary>
public sealed record EmojiImage(string Path, IReadOnlyList<string> Colors, IReadOnlyList<string> Shapes, string Caption);

/// <summary>One base emoji (skin tones aside) and its drawings in each style that has one.</summary>
/// <param name="Unified">Code points as emoji-datasource writes them, e.g. "1F9A9".</param>
/// <param name="ShortName">emoji-datasource's short name, e.g. "flamingo"; the concept's identifier
/// (<c>emoji:flamingo</c>).</param>
/// <param name="Label">The English CLDR label from emojibase, e.g. "flamingo".</param>
/// <param name="Tags">The English CLDR keywords from emojibase.</param>
/// <param name="Group">The Unicode group, e.g. "Animals &amp; Nature".</param>
/// <param name="Subgroup">The Unicode subgroup, e.g. "animal-bird".</param>
/// <param name="Images">Style name to drawing.</param>
public sealed record EmojiConcept(
    string Unified, string ShortName, string Label, IReadOnlyList<string> Tags, string Group, string Subgroup,
    IReadOnlyDictionary<string, EmojiImage> Images);

/// <summary>The emoji data set as a list of concepts drawn in several styles: the same idea (a flamingo) in
/// the hands of different designers, which is what lets training on some styles be tested on another. Built
/// from the installed packages (see <see cref="EmojiInstaller"/>) and stored as <c>manifest.json</c> next to
/// the images.</summary>
public sealed partial class EmojiManifest
{
    public const string FileName = "manifest.json";

    /// <summary>The format of <c>manifest.json</c>; raised when its meaning changes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The image sets that emoji-datasource ships as 64 px PNGs.</summary>
    public static IReadOnlyList<string> VendorStyles { get; } = ["google", "twitter", "apple", "facebook"];

    /// <summary>OpenMoji, rasterized from SVG on install.</summary>
    public const string OpenMojiStyle = "openmoji";

    /// <summary>Every style an install can provide, in manifest order.</summary>
    public static IReadOnlyList<string> AllStyles { get; } = [.. VendorStyles, OpenMojiStyle];

    /// <summary>The folder holding <c>manifest.json</c>, against which image paths resolve.</summary>
    public string Folder { get; }

    /// <summary>npm package name to version, for each package the data came from.</summary>
    public IReadOnlyDictionary<string, string> Sources { get; }

    /// <summary>The styles that have at least one image, in <see cref="AllStyles"/> order.</summary>
    public IReadOnlyList<string> Styles { get; }

    public IReadOnlyList<EmojiConcept> Concepts { get; }

    private readonly Dictionary<string, EmojiConcept> byShortName;

    private EmojiManifest(string folder, IReadOnlyDictionary<string, string> sources, IReadOnlyList<EmojiConcept> concepts)
    {
        Folder = Path.GetFullPath(folder);
        Sources = sources;
        Concepts = concepts;
        Styles = AllStyles.Where(style => concepts.Any(concept => concept.Images.ContainsKey(style))).ToArray();
        byShortName = concepts.ToDictionary(concept => concept.ShortName, StringComparer.Ordinal);
    }

    public string ImagePath(EmojiImage image) => Path.Combine(Folder, image.Path);

    /// <summary>The concept with this short name (the part after <c>emoji:</c>).</summary>
    public EmojiConcept Find(string shortName) =>
        byShortName.TryGetValue(shortName, out var concept)
            ? concept
            : throw new DatasetException($"{Path.Combine(Folder, FileName)}: no emoji with the short name '{shortName}'");

    /// <summary>"label: tag, tag; visual, words" — the CLDR text first, then what this drawing looks like.</summary>
    public static string Caption(string label, IReadOnlyList<string> tags, IEnumerable<string> visualWords)
    {
        var caption = tags.Count == 0 ? label : $"{label}: {string.Join(", ", tags)}";
        var words = string.Join(", ", visualWords);
        return words.Length == 0 ? caption : $"{caption}; {words}";
    }

    /// <summary>Reads the installed packages under <paramref name="folder"/> (laid out as
    /// <see cref="EmojiLayout"/> says) and describes every image's pixels.</summary>
    public static EmojiManifest Build(string folder, IReadOnlyDictionary<string, string> sources, IProgress<string>? progress = null)
    {
        var labels = ReadJson(EmojiLayout.EmojibaseData(folder), ManifestJsonContext.Default.ListEmojibaseEntry)
            .GroupBy(entry => HexKey(entry.Hexcode))
            .ToDictionary(group => group.Key, group => group.First());
        var baseEmoji = ReadBaseEmoji(folder);
        progress?.Report($"describing the images of {baseEmoji.Count} emoji in {AllStyles.Count} styles");
        var concepts = baseEmoji
            .Select(entry => DescribeConcept(folder, entry, labels.GetValueOrDefault(HexKey(entry.Unified))))
            .Where(concept => concept.Images.Count > 0)
            .ToArray();
        return new EmojiManifest(folder, sources, concepts);
    }

    private static EmojiConcept DescribeConcept(string folder, DatasourceEntry entry, EmojibaseEntry? cldr)
    {
        // emojibase labels every emoji of its release; the Unicode name stands in should a newer one be missing.
        var label = cldr?.Label ?? entry.Name.ToLowerInvariant();
        var tags = cldr?.Tags ?? [];
        var images = new Dictionary<string, EmojiImage>();
        foreach (var style in AllStyles)
        {
            var relative = Path.Combine(EmojiLayout.ImagesFolder, style, entry.Image);
            var path = Path.Combine(folder, relative);
            if (!File.Exists(path)) continue;
            var words = EmojiVisualWords.Describe(path);
            images[style] = new EmojiImage(relative.Replace('\\', '/'), words.Colors, words.Shapes, Caption(label, tags, words.All));
        }
        return new EmojiConcept(entry.Unified, entry.ShortName, label, tags, entry.Category, entry.Subcategory, images);
    }

    public static EmojiManifest Read(string manifestPath)
    {
        var stored = ReadJson(manifestPath, ManifestJsonContext.Default.StoredManifest);
        if (stored.Format != FormatVersion)
            throw new DatasetException($"{manifestPath}: manifest format {stored.Format}, this Molyneux reads format {FormatVersion}; reinstall the emoji data");
        return new EmojiManifest(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, stored.Sources, stored.Concepts);
    }

    /// <summary>Writes <c>manifest.json</c> into <see cref="Folder"/>, atomically: a reader finds the old
    /// manifest or the new one, and an install interrupted here is redone.</summary>
    public void Write() =>
        AtomicFile.Write(Path.Combine(Folder, FileName),
            stream => JsonSerializer.Serialize(stream, new StoredManifest(FormatVersion, Sources, Styles, Concepts), ManifestJsonContext.Default.StoredManifest));

    /// <summary>The emoji the data set is made of: every emoji-datasource entry except the skin-tone swatches
    /// (category Component) and the entries Unicode replaced by gendered ones (obsoleted_by), whose drawings
    /// duplicate their replacement's. Skin-tone variants are nested inside their base entry, so never listed;
    /// flags, keycaps and ZWJ sequences are kept, since they have images and captions like any other.</summary>
    internal static IReadOnlyList<DatasourceEntry> ReadBaseEmoji(string folder) =>
        ReadJson(EmojiLayout.DatasourceData(folder), ManifestJsonContext.Default.ListDatasourceEntry)
            .Where(entry => entry.Category != "Component" && entry.ObsoletedBy is null)
            .OrderBy(entry => entry.SortOrder)
            .ToArray();

    /// <summary>Code points in a form every source agrees on: emoji-datasource, emojibase and OpenMoji differ on
    /// whether they write the U+FE0F variation selector.</summary>
    internal static string HexKey(string hexcode) =>
        string.Join('-', hexcode.ToUpperInvariant().Split('-').Where(part => part != "FE0F"));

    private static T ReadJson<T>(string path, JsonTypeInfo<T> type)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: no such file (install the emoji data first)");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, type) ?? throw new DatasetException($"{path}: empty JSON");
        }
        catch (JsonException error)
        {
            throw new DatasetException($"{path}: {error.Message}", error);
        }
    }

    private sealed record StoredManifest(
        int Format, IReadOnlyDictionary<string, string> Sources, IReadOnlyList<string> Styles, IReadOnlyList<EmojiConcept> Concepts);

    /// <summary>The fields of emoji-datasource's emoji.json that the data set uses.</summary>
    internal sealed record DatasourceEntry(
        string Name, string Unified, string Image, string ShortName, string Category, string Subcategory, int SortOrder,
        string? ObsoletedBy = null);

    /// <summary>The fields of emojibase-data's en/data.json that the data set uses.</summary>
    private sealed record EmojibaseEntry(string Label, string Hexcode, IReadOnlyList<string>? Tags = null);

    // Source-generated, so reading and writing work in trimmed and native-AOT builds too.
    [JsonSourceGenerationOptions(
        PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
        RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
    [JsonSerializable(typeof(StoredManifest))]
    [JsonSerializable(typeof(List<DatasourceEntry>))]
    [JsonSerializable(typeof(List<EmojibaseEntry>))]
    private sealed partial class ManifestJsonContext : JsonSerializerContext;
}

/// <summary>Where the installer puts each package's files inside <c>home/emoji</c>, which is where the manifest
/// looks for them.</summary>
internal static class EmojiLayout
{
    public const string ImagesFolder = "images";

    public static string Folder(string home) => Path.Combine(home, "emoji");

    public static string DatasourceFolder(string folder) => Path.Combine(folder, "metadata", "emoji-datasource");

    public static string EmojibaseFolder(string folder) => Path.Combine(folder, "metadata", "emojibase-data");

    public static string DatasourceData(string folder) => Path.Combine(DatasourceFolder(folder), "emoji.json");

    public static string EmojibaseData(string folder) => Path.Combine(EmojibaseFolder(folder), "data.json");

    public static string StyleFolder(string folder, string style) => Path.Combine(folder, ImagesFolder, style);
}
