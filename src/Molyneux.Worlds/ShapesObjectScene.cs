using Molyneux.Imaging;
namespace Molyneux.Worlds;

/// <summary>An object placed in an object scene: its centre (<paramref name="X"/> to the right,
/// <paramref name="Y"/> down) and radius in units of the image side, the shape filling the box centre ± radius.</summary>
public sealed record ShapesSceneObject(ShapesObject Object, double X, double Y, double Radius)
{
    /// <summary>The jittered colour the object is painted in (its stripes or dots in a shade of it).</summary>
    internal Rgb Ink { get; init; }
}

/// <summary>A scene for zero-shot segmentation: a target object (<see cref="Target"/>'s) among one to three
/// distractors, each distractor differing from the target in shape or colour so that the target's name picks exactly
/// one object, on a background of a colour no object has. Every object comes with its exact mask.</summary>
public sealed class ShapesObjectScene
{
    private readonly byte[] rgb;
    private readonly bool[][] masks;

    internal ShapesObjectScene(int index, int seed, ShapesObjectConcept target, IReadOnlyList<ShapesSceneObject> objects, int targetIndex,
        ShapeColor background, Rgb backgroundInk, int imageSize, byte[] rgb, bool[][] masks)
    {
        Index = index;
        Seed = seed;
        Target = target;
        Objects = objects;
        TargetIndex = targetIndex;
        Background = background;
        BackgroundInk = backgroundInk;
        ImageSize = imageSize;
        this.rgb = rgb;
        this.masks = masks;
        Caption = Describe(objects, background);
    }

    public int Index { get; }

    public int Seed { get; }

    /// <summary>The concept whose object the scene hides among the distractors.</summary>
    public ShapesObjectConcept Target { get; }

    /// <summary>Every object of the scene, target included, in the order of the layout's slots (top to bottom, then
    /// left to right), so the target's place in the list says nothing its position does not.</summary>
    public IReadOnlyList<ShapesSceneObject> Objects { get; }

    /// <summary>Which of <see cref="Objects"/> is the target.</summary>
    public int TargetIndex { get; }

    public ShapeColor Background { get; }

    /// <summary>The jittered colour of the background.</summary>
    internal Rgb BackgroundInk { get; }

    public int ImageSize { get; }

    /// <summary>Every object described in caption words, in <see cref="Objects"/> order: "a large striped orange
    /// circle, a small red star and a large blue square on a gray background".</summary>
    public string Caption { get; }

    /// <summary>The image as row-major RGB bytes.</summary>
    public ReadOnlySpan<byte> Rgb => rgb;

    /// <summary>The row-major mask of object <paramref name="objectIndex"/>: the pixels at least half of whose 16
    /// subsamples fall inside it. Objects never overlap, so the masks are disjoint.</summary>
    public ReadOnlySpan<bool> Mask(int objectIndex) => masks[objectIndex];

    public ReadOnlySpan<bool> TargetMask => masks[TargetIndex];

    internal void WritePng(string path) => PngPixels.WriteRgb(path, rgb, ImageSize, ImageSize);

    internal void WriteTargetMaskPng(string path) => PngPixels.WriteMask(path, TargetMask, ImageSize, ImageSize);

    private static string Describe(IReadOnlyList<ShapesSceneObject> objects, ShapeColor background)
    {
        var descriptions = objects.Select(o => o.Object.Description).ToArray();
        var listed = descriptions.Length == 1
            ? descriptions[0]
            : string.Join(", ", descriptions[..^1]) + " and " + descriptions[^1];
        var ground = ShapesCaptions.Word(background);
        return $"{listed} on {ShapesCaptions.Article(ground)} {ground} background";
    }
}
