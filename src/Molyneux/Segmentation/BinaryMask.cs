using Molyneux.Imaging;
using SkiaSharp;

namespace Molyneux.Segmentation;

/// <summary>A foreground/background image: one bool per pixel, row-major (index y · Width + x), true for the object.
/// Predicted masks, ground-truth masks and everything in between (thresholded maps, kept components) are this
/// type, so the metrics never have to guess what 1, 128 or 255 meant.</summary>
public sealed class BinaryMask
{
    private readonly bool[] pixels;

    /// <summary>An all-background mask.</summary>
    public BinaryMask(int width, int height) : this(width, height, new bool[CheckedArea(width, height)], copy: false)
    {
    }

    /// <summary>A mask over a copy of <paramref name="pixels"/> (Width · Height of them, row-major).</summary>
    public BinaryMask(int width, int height, bool[] pixels) : this(width, height, pixels, copy: true)
    {
    }

    private BinaryMask(int width, int height, bool[] pixels, bool copy, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var area = CheckedArea(width, height);
        if (pixels.Length != area)
            throw new ArgumentException($"a {width}×{height} mask needs {area} pixels, got {pixels.Length}", nameof(pixels));
        Width = width;
        Height = height;
        this.pixels = copy ? (bool[])pixels.Clone() : pixels;
        Source = source;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The file the mask was read from, if any; error messages about the mask (a size that does not match
    /// another mask) name it.</summary>
    public string? Source { get; }

    /// <summary>The pixels, row-major.</summary>
    public ReadOnlySpan<bool> Pixels => pixels;

    public bool this[int x, int y]
    {
        get => pixels[Index(x, y)];
        set => this.pixels[Index(x, y)] = value;
    }

    /// <summary>How many pixels are foreground.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var pixel in pixels)
                if (pixel) count++;
            return count;
        }
    }

    /// <summary>"224×224" or "224×224 (masks/a/3.png)", for messages.</summary>
    public string Describe() => Source is null ? $"{Width}×{Height}" : $"{Width}×{Height} ({Source})";

    /// <summary>Reads a mask image. Accepted: gray, gray+alpha, RGB or RGBA files (8- or 16-bit; Skia reduces 16 to 8)
    /// whose colour channels are equal at every pixel and whose values are all in {0, 255} or all in {0, 1}; the
    /// non-zero value is foreground and alpha is ignored. Anything else — anti-aliased edges, JPEG noise, colour
    /// label maps — is refused with a <see cref="DatasetException"/> that names the file and an offending pixel,
    /// rather than being thresholded here at a level the dataset never promised. A file that is missing or cannot
    /// be decoded is an <see cref="ImageException"/>.</summary>
    public static BinaryMask ReadPng(string path)
    {
        var (rgba, width, height) = DecodeRgba(path);
        var gray = new byte[width * height];
        var seen = new bool[256];
        var distinct = 0;
        for (var i = 0; i < gray.Length; i++)
        {
            var (r, g, b) = (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
            if (r != g || g != b)
                throw new DatasetException($"{path}: not a binary mask: pixel ({i % width}, {i / width}) is coloured " +
                                           $"(R {r}, G {g}, B {b}); a mask has equal channels, 0 for background");
            gray[i] = r;
            if (!seen[r])
            {
                seen[r] = true;
                distinct++;
            }
        }

        var foreground = seen[255] ? (byte)255 : (byte)1;
        var offending = Array.FindIndex(gray, value => value != 0 && value != foreground);
        if (offending >= 0)
            throw new DatasetException($"{path}: not a binary mask: {distinct} distinct values, e.g. {gray[offending]} at " +
                                       $"({offending % width}, {offending / width}); expected only 0 and 255 (or only 0 and 1)");

        var pixels = new bool[gray.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = gray[i] != 0;
        return new BinaryMask(width, height, pixels, copy: false, source: path);
    }

    /// <summary>Writes the mask as an 8-bit gray PNG, 255 for foreground and 0 for background (what
    /// <see cref="ReadPng"/> and the usual dataset tools read back), atomically.</summary>
    public void WritePng(string path)
    {
        PngPixels.WriteMask(path, pixels, Width, Height);
    }

    /// <summary>A copy that remembers <paramref name="source"/> as the file it came from.</summary>
    public BinaryMask WithSource(string? source) => new(Width, Height, pixels, copy: true, source);

    private int Index(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"pixel ({x}, {y}) is outside the {Describe()} mask");
        return y * Width + x;
    }

    private static int CheckedArea(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"a mask needs a positive size, got {width}×{height}", nameof(width));
        var area = (long)width * height;
        if (area > Array.MaxLength)
            throw new ArgumentException($"a {width}×{height} mask is too large", nameof(width));
        return (int)area;
    }

    private static (byte[] Rgba, int Width, int Height) DecodeRgba(string path)
    {
        if (Directory.Exists(path))
            throw new ImageException($"{path}: is a folder, not a mask image");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageException($"{path}: no such mask file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageException($"{path}: cannot read the mask file: {e.Message}", e);
        }
        if (bytes.Length == 0)
            throw new ImageException($"{path}: the file is empty (0 bytes), not a mask image");

        using var codec = SKCodec.Create(new SKMemoryStream(bytes), out var opened);
        if (codec is null)
            throw new ImageException($"{path}: not an image Skia can decode ({opened}); masks are expected as PNG");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || (long)width * height > Imaging.ImageDecoder.MaxPixels)
            throw new ImageException($"{path}: the mask is {width}×{height} pixels, outside what can be read");
        // No colour space on the destination, so Skia copies the stored values instead of converting them.
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var decoded = codec.GetPixels(target, out byte[] pixels);
        if (decoded != SKCodecResult.Success)
            throw new ImageException($"{path}: cannot decode the {codec.EncodedFormat} mask ({width}×{height}): {decoded}");
        return (pixels, width, height);
    }
}
