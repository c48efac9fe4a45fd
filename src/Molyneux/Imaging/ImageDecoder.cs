using System.Runtime.InteropServices;
using Molyneux.Runtime;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Imaging;

/// <summary>Reads image files into float32 CPU tensors [3, H, W] with RGB values in [0, 1], and writes such
/// tensors back as PNG.</summary>
public static class ImageDecoder
{
    /// <summary>Longest side accepted; checked from the file's header before any pixel memory is allocated.</summary>
    public const int MaxSide = 16384;

    /// <summary>Most pixels accepted (100 MP: a 400 MB RGBA buffer and a 1.2 GB float tensor).</summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Decodes a PNG, JPEG, WebP, GIF (first frame), BMP, ICO or WBMP file. Grayscale becomes three equal
    /// channels; 16-bit sources are reduced to 8 bits per channel, as PIL does in Hugging Face's pipeline, so the
    /// tensor holds multiples of 1/255. Embedded colour profiles and EXIF orientation are ignored, again as there,
    /// so the pixels match the ones CLIP was trained on. Transparency is composited on white; PIL's
    /// <c>convert("RGB")</c> drops alpha instead, which agrees on opaque pixels and leaves transparent ones
    /// whatever colour the file happens to store.</summary>
    public static Tensor Load(string path) => ToTensor(Decode(path));

    /// <summary>The managed half of <see cref="Load"/>: the file decoded into RGBA bytes, with the same checks and
    /// errors, and no tensor made. It touches no TorchSharp state, so <see cref="ImagePipeline"/> runs it on worker
    /// threads and makes the tensor (<see cref="ToTensor"/>) on the thread that owns it.</summary>
    public static DecodedImage Decode(string path)
    {
        var bytes = ReadFile(path);
        if (bytes.Length == 0)
            throw new ImageException($"{path}: the file is empty (0 bytes), not an image");

        using var codec = SKCodec.Create(new SKMemoryStream(bytes), out var opened);
        if (codec is null)
            throw new ImageException($"{path}: not an image Skia can decode ({Explain(opened)}); " +
                                     "supported formats are PNG, JPEG, WebP, GIF, BMP, ICO and WBMP");

        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0)
            throw new ImageException($"{path}: the {codec.EncodedFormat} header declares an empty image ({width}×{height})");
        if (width > MaxSide || height > MaxSide || (long)width * height > MaxPixels)
            throw new ImageException($"{path}: the {codec.EncodedFormat} image is {width}×{height} pixels, over the limit " +
                                     $"of {MaxSide} per side and {MaxPixels / 1_000_000} megapixels");

        // No colour space on the destination: Skia then copies the stored values instead of converting them.
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var decoded = codec.GetPixels(target, out byte[] pixels);
        if (decoded != SKCodecResult.Success)
            throw new ImageException($"{path}: cannot decode the {codec.EncodedFormat} image ({width}×{height}): {Explain(decoded)}");

        return new DecodedImage(path, pixels, width, height, HasAlpha: codec.Info.AlphaType != SKAlphaType.Opaque);
    }

    /// <summary>[3, H, W] in [0, 1] from what <see cref="Decode"/> read, exactly as <see cref="Load"/> gives it.</summary>
    public static Tensor ToTensor(DecodedImage image) => FromRgba(image.Rgba, image.Width, image.Height, image.HasAlpha);

    /// <summary>Converts a bitmap of any colour type into [3, H, W] in [0, 1], compositing transparency on white.</summary>
    public static Tensor FromPixels(SKBitmap bitmap)
    {
        var target = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[target.BytesSize64];
        var pinned = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var source = bitmap.PeekPixels();
            if (source is null || !source.ReadPixels(target, pinned.AddrOfPinnedObject(), target.RowBytes, 0, 0))
                throw new ArgumentException($"cannot convert a {bitmap.ColorType} bitmap to RGBA", nameof(bitmap));
        }
        finally
        {
            pinned.Free();
        }
        return FromRgba(pixels, bitmap.Width, bitmap.Height, hasAlpha: bitmap.AlphaType != SKAlphaType.Opaque);
    }

    /// <summary>Writes [3, H, W] (values clamped to [0, 1], NaN as 0) as an 8-bit RGB PNG, atomically.</summary>
    public static void SavePng(string path, Tensor image) => PngPixels.Save(path, EncodePng(image, path), "image");

    /// <summary>[3, H, W] (values clamped to [0, 1], NaN as 0) as an 8-bit RGB PNG file's bytes, for a file or a page
    /// that embeds it; <paramref name="destination"/> names where they go, in the error.</summary>
    public static byte[] EncodePng(Tensor image, string destination = "image")
    {
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"expected an image tensor [3, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));
        var (height, width) = ((int)image.shape[1], (int)image.shape[2]);

        byte[] rgba;
        using (NewDisposeScope())
        using (no_grad())
        {
            // nan_to_num makes a new tensor, so the in-place steps after it leave the caller's image alone.
            var rgb = image.detach().to(CPU).to(ScalarType.Float32).nan_to_num(0).ClampInPlace(0, 1)
                .mul_(LiveScalars.ByteMaximum).round_().to(ScalarType.Byte).permute(1, 2, 0);
            var opaque = full(height, width, 1, LiveScalars.ByteMaximum, ScalarType.Byte);
            rgba = cat([rgb, opaque], 2).contiguous().bytes.ToArray();
        }

        return PngPixels.Encode(rgba, width, height, SKColorType.Rgba8888, "image", destination);
    }

    private static byte[] ReadFile(string path)
    {
        if (Directory.Exists(path))
            throw new ImageException($"{path}: is a folder, not an image file");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageException($"{path}: no such image file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageException($"{path}: cannot read the file: {e.Message}", e);
        }
    }

    private static string Explain(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated, the image data ends early",
        SKCodecResult.ErrorInInput => "the image data is corrupt",
        SKCodecResult.InvalidInput => "the header is invalid",
        SKCodecResult.Unimplemented => "unrecognised or unsupported format",
        _ => $"Skia reports {result}",
    };

    private static Tensor FromRgba(byte[] pixels, int width, int height, bool hasAlpha)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rgba = tensor(pixels, [height, width, 4]);
        var rgb = rgba.narrow(2, 0, 3).permute(2, 0, 1).to(ScalarType.Float32).div_(LiveScalars.ByteMaximum);
        if (hasAlpha)
        {
            // colour × alpha + white × (1 − alpha); written this way an opaque pixel keeps its exact value.
            var alpha = rgba.select(2, 3).to(ScalarType.Float32).div_(LiveScalars.ByteMaximum);
            rgb = rgb.mul_(alpha).add_(alpha.neg().add_(LiveScalars.One, LiveScalars.One), LiveScalars.One);
        }
        return rgb.contiguous().MoveToOuterDisposeScope();
    }
}
