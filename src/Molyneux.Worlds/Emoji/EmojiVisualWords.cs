using SkiaSharp;

namespace Molyneux.Worlds.Emoji;

/// <summary>Words an image's pixels justify: its dominant colours and the outline of its silhouette.</summary>
public sealed record VisualWords(IReadOnlyList<string> Colors, IReadOnlyList<string> Shapes)
{
    public IEnumerable<string> All => Colors.Concat(Shapes);
}

/// <summary>Names what an emoji looks like, so captions can say "pink" and "tall" where the CLDR tags only say
/// "bird". These words are what lets a held-out concept be described without its name: the descriptions of
/// <see cref="EmojiSplits"/> are written in this vocabulary.
///
/// The image is first composited on white, the way it is seen and the way OpenMoji is rasterized. The
/// background is the near-white region reachable from the border; what is left is the emoji. Measuring the
/// silhouette this way rather than from alpha treats the transparent vendor PNGs and the opaque OpenMoji
/// rasterizations alike, and white enclosed by an outline (a ghost, the white of an eye) still counts as
/// white.</summary>
public static class EmojiVisualWords
{
    public static IReadOnlyList<string> ColorNames { get; } =
        ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"];

    public static IReadOnlyList<string> ShapeNames { get; } = ["round", "long", "tall", "wide", "small"];

    /// <summary>A colour is named when it covers at least this share of the emoji; at most two are named, so
    /// the caption keeps to what dominates and leaves out outlines, highlights and anti-aliased edges.</summary>
    public const double MinColorShare = 0.2;

    private const int MaxColors = 2;

    /// <summary>Every channel at least this bright counts as background white: anti-aliased edges leave a rim
    /// of almost-white around the drawing.</summary>
    private const int NearWhite = 235;

    /// <summary>Bounding boxes this much longer one way than the other are tall or wide.</summary>
    private const double TallOrWideRatio = 1.5;

    /// <summary>Silhouettes whose principal axes differ this much are long, whatever their direction (a
    /// diagonal sword has a square bounding box).</summary>
    private const double LongAxisRatio = 2.5;

    /// <summary>Silhouettes that agree this well (intersection over union) with the ellipse inscribed in their
    /// bounding box are round.</summary>
    private const double RoundOverlap = 0.88;

    /// <summary>Emoji whose longer side spans at most this fraction of the image are small (most fill it).</summary>
    private const double SmallExtent = 0.55;

    public static VisualWords Describe(string imagePath)
    {
        using var codec = SKCodec.Create(imagePath)
            ?? throw new ImageException($"{imagePath}: not a readable image");
        var info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
        using var bitmap = SKBitmap.Decode(codec, info)
            ?? throw new ImageException($"{imagePath}: cannot decode the image");
        return Describe(bitmap.GetPixelSpan(), bitmap.Width, bitmap.Height);
    }

    /// <summary>Describes an image given as unpremultiplied RGBA bytes, row by row.</summary>
    public static VisualWords Describe(ReadOnlySpan<byte> rgba, int width, int height)
    {
        if (width <= 0 || height <= 0 || rgba.Length != width * height * 4)
            throw new ImageException($"an RGBA image of {width}x{height} needs {width * height * 4} bytes, got {rgba.Length}");
        var rgb = CompositeOnWhite(rgba);
        var emoji = ForegroundMask(rgb, width, height);
        if (!emoji.Contains(true)) return new VisualWords([], []);
        return new VisualWords(DominantColors(rgb, emoji), ShapeCues(emoji, width, height));
    }

    private static byte[] CompositeOnWhite(ReadOnlySpan<byte> rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int pixel = 0, i = 0; i < rgba.Length; i += 4, pixel += 3)
        {
            var alpha = rgba[i + 3];
            for (var channel = 0; channel < 3; channel++)
                rgb[pixel + channel] = (byte)((rgba[i + channel] * alpha + 255 * (255 - alpha) + 127) / 255);
        }
        return rgb;
    }

    /// <summary>True where the emoji is: everything except the near-white pixels connected to the border.</summary>
    private static bool[] ForegroundMask(byte[] rgb, int width, int height)
    {
        var background = new bool[width * height];
        var pending = new Stack<int>();
        void Visit(int index)
        {
            if (background[index] || !IsNearWhite(rgb, index)) return;
            background[index] = true;
            pending.Push(index);
        }
        for (var x = 0; x < width; x++) { Visit(x); Visit((height - 1) * width + x); }
        for (var y = 0; y < height; y++) { Visit(y * width); Visit(y * width + width - 1); }
        while (pending.TryPop(out var index))
        {
            int x = index % width, y = index / width;
            if (x > 0) Visit(index - 1);
            if (x < width - 1) Visit(index + 1);
            if (y > 0) Visit(index - width);
            if (y < height - 1) Visit(index + width);
        }
        return Array.ConvertAll(background, isBackground => !isBackground);
    }

    private static bool IsNearWhite(byte[] rgb, int index) =>
        rgb[3 * index] >= NearWhite && rgb[3 * index + 1] >= NearWhite && rgb[3 * index + 2] >= NearWhite;

    private static string[] DominantColors(byte[] rgb, bool[] emoji)
    {
        var counts = new Dictionary<string, int>();
        var total = 0;
        for (var index = 0; index < emoji.Length; index++)
        {
            if (!emoji[index]) continue;
            var name = NameColor(rgb[3 * index], rgb[3 * index + 1], rgb[3 * index + 2]);
            counts[name] = counts.GetValueOrDefault(name) + 1;
            total++;
        }
        return counts.Where(pair => pair.Value >= MinColorShare * total)
            .OrderByDescending(pair => pair.Value)
            .ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .Take(MaxColors)
            .Select(pair => pair.Key)
            .ToArray();
    }

    /// <summary>The name in <see cref="ColorNames"/> a person would give this colour: achromatic
    /// names by brightness, the rest by hue, with dark oranges called brown and pale reds pink as in everyday
    /// speech.</summary>
    internal static string NameColor(byte red, byte green, byte blue)
    {
        double r = red / 255.0, g = green / 255.0, b = blue / 255.0;
        double max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
        var value = max;
        var saturation = max == 0 ? 0 : (max - min) / max;
        if (value < 0.22) return "black";
        if (saturation < 0.18) return value > 0.85 ? "white" : value < 0.3 ? "black" : "gray";
        var chroma = max - min;
        var hue = max == r ? 60 * (((g - b) / chroma + 6) % 6)
            : max == g ? 60 * ((b - r) / chroma + 2)
            : 60 * ((r - g) / chroma + 4);
        if (hue < 15 || hue >= 345) return saturation < 0.65 && value > 0.8 ? "pink" : "red";
        if (hue < 50 && value < 0.65) return "brown";
        if (hue < 40) return "orange";
        if (hue < 70) return "yellow";
        if (hue < 170) return "green";
        if (hue < 255) return "blue";
        if (hue < 290) return "purple";
        return "pink";
    }

    private static string[] ShapeCues(bool[] emoji, int width, int height)
    {
        int left = width, right = -1, top = height, bottom = -1, area = 0;
        double sumX = 0, sumY = 0, sumXX = 0, sumYY = 0, sumXY = 0;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            if (!emoji[y * width + x]) continue;
            left = Math.Min(left, x); right = Math.Max(right, x);
            top = Math.Min(top, y); bottom = Math.Max(bottom, y);
            area++;
            sumX += x; sumY += y; sumXX += (double)x * x; sumYY += (double)y * y; sumXY += (double)x * y;
        }
        double boxWidth = right - left + 1, boxHeight = bottom - top + 1;

        // Principal axes of the silhouette: the eigenvalues of its coordinates' covariance.
        double meanX = sumX / area, meanY = sumY / area;
        double varX = sumXX / area - meanX * meanX, varY = sumYY / area - meanY * meanY, cov = sumXY / area - meanX * meanY;
        var spread = Math.Sqrt((varX - varY) * (varX - varY) / 4 + cov * cov);
        double major = (varX + varY) / 2 + spread, minor = Math.Max((varX + varY) / 2 - spread, 1.0 / 12);

        var cues = new List<string>();
        if (EllipseOverlap(emoji, width, left, top, boxWidth, boxHeight) >= RoundOverlap) cues.Add("round");
        if (Math.Sqrt(major / minor) >= LongAxisRatio) cues.Add("long");
        if (boxHeight >= TallOrWideRatio * boxWidth) cues.Add("tall");
        if (boxWidth >= TallOrWideRatio * boxHeight) cues.Add("wide");
        if (Math.Max(boxWidth / width, boxHeight / height) <= SmallExtent) cues.Add("small");
        return cues.ToArray();
    }

    /// <summary>Intersection over union of the silhouette and the ellipse inscribed in its bounding box.</summary>
    private static double EllipseOverlap(bool[] emoji, int width, int left, int top, double boxWidth, double boxHeight)
    {
        double centerX = left + boxWidth / 2, centerY = top + boxHeight / 2;
        int both = 0, either = 0;
        for (var y = top; y < top + (int)boxHeight; y++)
        for (var x = left; x < left + (int)boxWidth; x++)
        {
            double dx = (x + 0.5 - centerX) / (boxWidth / 2), dy = (y + 0.5 - centerY) / (boxHeight / 2);
            var inEllipse = dx * dx + dy * dy <= 1;
            var inEmoji = emoji[y * width + x];
            if (inEllipse && inEmoji) both++;
            if (inEllipse || inEmoji) either++;
        }
        return (double)both / either;
    }
}
