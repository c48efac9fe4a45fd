using System.Runtime.InteropServices;
using Molyneux.Runtime;
using SkiaSharp;

namespace Molyneux.Imaging;

/// <summary>Encodes 8-bit pixel buffers as PNG and writes them atomically: images, masks, heat maps.</summary>
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

    public static void Write(string path, byte[] pixels, int width, int height, SKColorType colorType, string what)
    {
        var info = new SKImageInfo(width, height, colorType, SKAlphaType.Opaque);
        var pinned = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        SKData? png;
        try
        {
            using var pixmap = new SKPixmap(info, pinned.AddrOfPinnedObject(), info.RowBytes);
            png = pixmap.Encode(SKPngEncoderOptions.Default);
        }
        finally
        {
            pinned.Free();
        }
        using (png)
        {
            if (png is null)
                throw new ImageException($"{path}: Skia could not encode the {width}×{height} {what} as PNG");
            try
            {
                AtomicFile.Write(path, stream => png.SaveTo(stream));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ImageException($"{path}: cannot write the {what} PNG: {e.Message}", e);
            }
        }
    }
}
