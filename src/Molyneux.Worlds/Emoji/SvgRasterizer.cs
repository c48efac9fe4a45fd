using SkiaSharp;
using Svg.Skia;

namespace Molyneux.Worlds.Emoji;

/// <summary>Draws an SVG file as a square PNG on an opaque background, in-process with Svg.Skia: what
/// <c>rsvg-convert --width N --height N --background-color white</c> did for the emoji install, without a system
/// package. The drawing's view box is scaled to fill the square, keeping its aspect ratio and centring it.</summary>
public static class SvgRasterizer
{
    /// <summary>The PNG file's bytes.</summary>
    public static byte[] ToPng(string svgPath, int size, SKColor background)
    {
        using var svg = new SKSvg();
        SKPicture? picture;
        try
        {
            picture = svg.Load(svgPath);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            throw new DatasetException($"{svgPath}: not an SVG Svg.Skia can draw: {error.Message}");
        }
        var bounds = picture?.CullRect ?? SKRect.Empty;
        if (picture is null || bounds.Width <= 0 || bounds.Height <= 0)
            throw new DatasetException($"{svgPath}: the SVG has no drawable area (no view box or size)");

        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(background);
            var scale = size / Math.Max(bounds.Width, bounds.Height);
            canvas.Translate((size - bounds.Width * scale) / 2, (size - bounds.Height * scale) / 2);
            canvas.Scale(scale);
            canvas.Translate(-bounds.Left, -bounds.Top);
            canvas.DrawPicture(picture);
        }
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
