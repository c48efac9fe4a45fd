namespace Molyneux.Segmentation;

/// <summary>An axis-aligned box of pixels: columns <see cref="Left"/> … <see cref="Right"/> − 1 and rows
/// <see cref="Top"/> … <see cref="Bottom"/> − 1. Right and Bottom are exclusive everywhere in Molyneux, as in
/// slicing, so the width is Right − Left and a box covering a W×H image is (0, 0, W, H). SAM's xyxy box prompts
/// use the same numbers (MedCLIP-SAMv2's <c>scoremap2bbox</c> takes x + w and y + h, then clips them to W − 1 and
/// H − 1; that clip is not repeated here).</summary>
public sealed record PixelBox(int Left, int Top, int Right, int Bottom)
{
    public int Width => Right - Left;

    public int Height => Bottom - Top;

    public int Area => Width * Height;

    public bool Contains(int x, int y) => x >= Left && x < Right && y >= Top && y < Bottom;

    /// <summary>The whole of a <paramref name="width"/>×<paramref name="height"/> image.</summary>
    public static PixelBox Whole(int width, int height) => new(0, 0, width, height);

    public override string ToString() => $"[{Left}, {Top}, {Right}, {Bottom})";
}
