using System.Runtime.InteropServices;
using Molyneux.Runtime;
using SkiaSharp;

namespace Molyneux.Imaging;

/// <summary>Encodes 8-bit pixel buffers as PNG and writes them atomically: images, masks, heat maps, the images of a
/// caption page.</summary>
internal static class PngPixels
{
    /// <summary>Row-major RGB bytes as an opaque RGB PNG.</summary>
    public static void WriteRgb(string path, ReadOnlySpan<byte> rgb, int width, int height, string what = "image")
    {
        var rgba = new byte[width * height * 4];
        for (int p = 0, q = 0; p < width * height; p++, q += 4)
            (rgba[q], rgba[q + 1], rgba[q + 2], rgba[q + 3]) = (rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2], 255);
        Write(path, rgba, width, height, SKColorType.Rgba8888, what);
    }

    /// <summary>A row-major mask as an 8-bit gray PNG: 255 inside, 0 outside.</summary>
    public static void WriteMask(string path, ReadOnlySpan<bool> mask, int width, int height)
    {
        var gray = new byte[width * height];
        for (var p = 0; p < gray.Length; p++) gray[p] = mask[p] ? (byte)255 : (byte)0;
        Write(path, gray, width, height, SKColorType.Gray8, "mask");
    }

    public static void Write(string path, byte[] pixels, int width, int height, SKColorType colorType, string what) =>
        Save(path, Encode(pixels, width, height, colorType, what, path), what);

    /// <summary>Row-major pixels of <paramref name="colorType"/> as a PNG file's bytes; <paramref name="destination"/>
    /// names where they go, in the error.</summary>
    public static byte[] Encode(byte[] pixels, int width, int height, SKColorType colorType, string what, string destination)
    {
        var info = new SKImageInfo(width, height, colorType, SKAlphaType.Opaque);
        var pinned = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, pinned.AddrOfPinnedObject(), info.RowBytes);
            using var png = pixmap.Encode(SKPngEncoderOptions.Default);
            return png?.ToArray() ?? throw new ImageException($"{destination}: Skia could not encode the {width}×{height} {what} as PNG");
        }
        finally
        {
            pinned.Free();
        }
    }

    /// <summary>Writes a PNG file's bytes atomically, refusing with the path when it cannot.</summary>
    public static void Save(string path, byte[] png, string what)
    {
        try
        {
            AtomicFile.Write(path, stream => stream.Write(png));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageException($"{path}: cannot write the {what} PNG: {e.Message}", e);
        }
    }
}
