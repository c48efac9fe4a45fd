using Molyneux.Asif;
using Molyneux.Tests.Evaluation;

namespace Molyneux.Tests.Asif;

/// <summary>A tiny world for ASIF tests with encoders whose answers are known: an image's vector is its mean colour,
/// a text's the sum of its colour words' one-hot vectors. The two spaces have nothing in common (3-d and 5-d, no
/// shared axes) — only the anchor pairs connect them, which is ASIF's point.</summary>
internal sealed class AsifColourWorld : IDisposable
{
    public static readonly (string Name, byte R, byte G, byte B)[] Colours =
    [
        ("red", 230, 20, 20), ("green", 20, 200, 30), ("blue", 30, 40, 220), ("yellow", 220, 210, 20), ("purple", 140, 20, 160),
    ];

    private static readonly Dictionary<string, float[]> Words = Colours.Select((colour, i) =>
        (colour.Name, Vector: Enumerable.Range(0, Colours.Length).Select(j => j == i ? 1f : 0f).ToArray())).ToDictionary(e => e.Name, e => e.Vector);

    public TestPaths.TempFolder Folder { get; } = new();

    public MeanColourImageEncoder ImageEncoder { get; } = new("colour-image-encoder");

    public WordTableTextEncoder TextEncoder { get; } = new(Words, "colour-text-encoder");

    /// <summary>A square of the colour, a little lighter or darker per variant, so anchors of one colour differ.</summary>
    public string Image(string colour, int variant)
    {
        var (_, r, g, b) = Colours.Single(c => c.Name == colour);
        byte Shade(byte value) => (byte)Math.Clamp(value + 12 * (variant - 1), 0, 255);
        return MeanColourImageEncoder.WritePng(Folder.File($"{colour}/{variant}.png"), Shade(r), Shade(g), Shade(b));
    }

    /// <summary>Three anchors per colour: its squares captioned "a COLOUR square".</summary>
    public IReadOnlyList<AnchorPair> Anchors(params string[] colours) =>
        colours.SelectMany(colour => Enumerable.Range(0, 3).Select(variant => new AnchorPair(Image(colour, variant), $"a {colour} square"))).ToList();

    /// <summary>Writes pairs as a captions JSONL file (paths relative to it) and returns its path.</summary>
    public string WriteAnchorsFile(string name, IEnumerable<AnchorPair> pairs)
    {
        var lines = pairs.GroupBy(pair => pair.ImagePath).Select(group =>
            System.Text.Json.JsonSerializer.Serialize(new { image = Path.GetRelativePath(Folder.Path, group.Key), captions = group.Select(pair => pair.Caption).ToArray() }));
        var path = Folder.File(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    public void Dispose() => Folder.Dispose();
}
