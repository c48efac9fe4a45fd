namespace Molyneux.Worlds;

/// <summary>An RGB colour with integer channels in 0..255.</summary>
internal readonly record struct Rgb(int R, int G, int B);

/// <summary>One shape for <see cref="ShapesPainter.PaintObjects"/>: centre and radius in units of the image side.</summary>
internal readonly record struct PaintedObject(ShapeKind Shape, ShapePattern Pattern, Rgb Color, double Radius, (double X, double Y) Center);

/// <summary>Rasterizes shapes scenes into RGB bytes. It is written by hand rather than with SkiaSharp because the
/// same seed must give bit-identical images on every machine: Skia picks its antialiasing code by CPU features, while
/// here every pixel is 4×4 point-in-shape tests in IEEE double arithmetic (no transcendental functions, whose last
/// bit depends on the C library) followed by integer blending.</summary>
internal static class ShapesPainter
{
    private const int Subsamples = 4;

    /// <summary>Palette chosen so that every pair of colours differs by at least ~80 in some channel, enough to stay
    /// apart after the ±12 per-channel jitter the world adds.</summary>
    public static Rgb BaseColor(ShapeColor color) => color switch
    {
        ShapeColor.Red => new(220, 30, 30),
        ShapeColor.Orange => new(250, 140, 20),
        ShapeColor.Yellow => new(240, 225, 40),
        ShapeColor.Green => new(40, 170, 60),
        ShapeColor.Blue => new(40, 80, 220),
        ShapeColor.Purple => new(140, 50, 190),
        ShapeColor.Gray => new(128, 128, 128),
        ShapeColor.White => new(245, 245, 245),
        ShapeColor.Black => new(20, 20, 20),
        _ => throw new ArgumentOutOfRangeException(nameof(color), color, null),
    };

    /// <summary>Paints <paramref name="centers"/>.Count copies of one shape (centres and radius in units of the image
    /// side, the shape filling the box centre ± radius) on a plain background. Returns row-major RGB bytes.</summary>
    public static byte[] Paint(int imageSize, Rgb background, ShapeKind shape, ShapePattern pattern, Rgb color,
        double radius, IReadOnlyList<(double X, double Y)> centers)
    {
        var pixels = Background(imageSize, background);
        foreach (var center in centers) PaintShape(pixels, imageSize, shape, pattern, color, radius, center, mask: null);
        return pixels;
    }

    /// <summary>Paints different shapes, one per <paramref name="objects"/> entry, exactly as <see cref="Paint"/>
    /// paints each copy, and reports each one's mask: the pixels at least half of whose 16 subsamples fall inside
    /// it. The objects must not overlap, or a pixel could belong to two masks while showing only the later one.</summary>
    public static (byte[] Rgb, bool[][] Masks) PaintObjects(int imageSize, Rgb background, IReadOnlyList<PaintedObject> objects)
    {
        var pixels = Background(imageSize, background);
        var masks = new bool[objects.Count][];
        for (var k = 0; k < objects.Count; k++)
        {
            var o = objects[k];
            masks[k] = new bool[imageSize * imageSize];
            PaintShape(pixels, imageSize, o.Shape, o.Pattern, o.Color, o.Radius, o.Center, masks[k]);
        }
        return (pixels, masks);
    }

    private static byte[] Background(int imageSize, Rgb background)
    {
        var pixels = new byte[imageSize * imageSize * 3];
        for (var i = 0; i < pixels.Length; i += 3)
            (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)background.R, (byte)background.G, (byte)background.B);
        return pixels;
    }

    /// <summary>Blends one shape into <paramref name="pixels"/> and, when <paramref name="mask"/> is given, marks the
    /// pixels it covers at least half of.</summary>
    private static void PaintShape(byte[] pixels, int imageSize, ShapeKind shape, ShapePattern pattern, Rgb color,
        double radius, (double X, double Y) center, bool[]? mask)
    {
        var (cx, cy) = center;
        var shade = Shade(color);
        var step = 1.0 / (Subsamples * imageSize);
        int First(double c) => Math.Max(0, (int)Math.Floor((c - radius) * imageSize));
        int Last(double c) => Math.Min(imageSize - 1, (int)Math.Floor((c + radius) * imageSize));
        for (var py = First(cy); py <= Last(cy); py++)
        for (var px = First(cx); px <= Last(cx); px++)
        {
            int covered = 0, shaded = 0;
            for (var sy = 0; sy < Subsamples; sy++)
            for (var sx = 0; sx < Subsamples; sx++)
            {
                var x = (px * Subsamples + sx + 0.5) * step;
                var y = (py * Subsamples + sy + 0.5) * step;
                if (!Inside(shape, (x - cx) / radius, (y - cy) / radius)) continue;
                covered++;
                if (IsShaded(pattern, x, y)) shaded++;
            }
            if (covered == 0) continue;
            if (mask is not null && 2 * covered >= Subsamples * Subsamples) mask[py * imageSize + px] = true;
            var at = (py * imageSize + px) * 3;
            int Blend(byte under, int ink, int shadeInk) =>
                (under * (Subsamples * Subsamples - covered) + ink * (covered - shaded) + shadeInk * shaded + 8) / (Subsamples * Subsamples);
            pixels[at] = (byte)Blend(pixels[at], color.R, shade.R);
            pixels[at + 1] = (byte)Blend(pixels[at + 1], color.G, shade.G);
            pixels[at + 2] = (byte)Blend(pixels[at + 2], color.B, shade.B);
        }
    }

    /// <summary>Stripes and dots are a darker shade of the shape's own colour (a lighter one for very dark colours),
    /// not a second colour, so a striped red square is still unambiguously red.</summary>
    internal static Rgb Shade(Rgb color) =>
        color.R + color.G + color.B > 120
            ? new(color.R * 55 / 100, color.G * 55 / 100, color.B * 55 / 100)
            : new(color.R + (255 - color.R) * 35 / 100, color.G + (255 - color.G) * 35 / 100, color.B + (255 - color.B) * 35 / 100);

    /// <summary>Patterns live in image coordinates (unit square), so stripes are ~2 px wide at 32 px for every size.</summary>
    private static bool IsShaded(ShapePattern pattern, double x, double y)
    {
        switch (pattern)
        {
            case ShapePattern.Striped:
                return ((long)Math.Floor((x + y) * 5) & 1) == 1;
            case ShapePattern.Dotted:
                var dx = x * 6 - Math.Floor(x * 6) - 0.5;
                var dy = y * 6 - Math.Floor(y * 6) - 0.5;
                return dx * dx + dy * dy <= 0.09;
            default:
                return false;
        }
    }

    /// <summary>Whether (u, v) lies in the shape, in box coordinates: the shape fills [-1, 1]², v grows downwards.
    /// Strokes (ring, cross arms) are thick enough to survive at a radius of 5 px.</summary>
    internal static bool Inside(ShapeKind shape, double u, double v)
    {
        var au = Math.Abs(u);
        var av = Math.Abs(v);
        switch (shape)
        {
            case ShapeKind.Circle:
                return u * u + v * v <= 1;
            case ShapeKind.Ring:
                var d = u * u + v * v;
                return d <= 1 && d >= 0.55 * 0.55;
            case ShapeKind.Square:
                return au <= 0.85 && av <= 0.85;
            case ShapeKind.Diamond:
                return au / 0.75 + av <= 1;
            case ShapeKind.Triangle:
                return v <= 0.85 && 1.8 * au <= v + 0.95;
            case ShapeKind.Cross:
                return (au <= 0.3 && av <= 0.95) || (av <= 0.3 && au <= 0.95);
            case ShapeKind.Star:
                // The star spans 1.902 wide and 1.809 tall (tip at y = -1, lower tips at y = sin 54°): scale it to the
                // box and centre it vertically.
                return InsidePolygon(Star, u * 0.951, v * 0.951 - 0.0955);
            case ShapeKind.Heart:
                // The classic heart curve (x² + y² − 1)³ ≤ x²y³ (y up) spans x ∈ [−1.139, 1.139], y ∈ [−1, 1.236].
                var x = u * 1.139;
                var y = 0.118 - v * 1.118;
                var r = x * x + y * y - 1;
                return r * r * r <= x * x * y * y * y;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }

    /// <summary>A five-pointed star, tip up, outer radius 1 and a fat inner radius of 0.5 so its points stay visible
    /// when small. Vertex coordinates are written out (cos/sin of 18° and 54°) instead of computed with Math.Sin,
    /// whose result may differ in the last bit between C libraries.</summary>
    private static readonly (double X, double Y)[] Star = BuildStar();

    private static (double X, double Y)[] BuildStar()
    {
        const double Cos18 = 0.95105651629515357, Sin18 = 0.30901699437494742;
        const double Cos54 = 0.58778525229247314, Sin54 = 0.80901699437494745;
        const double Inner = 0.5;
        (double, double)[] outer = [(0, -1), (Cos18, -Sin18), (Cos54, Sin54), (-Cos54, Sin54), (-Cos18, -Sin18)];
        (double, double)[] inner = [(Cos54, -Sin54), (Cos18, Sin18), (0, 1), (-Cos18, Sin18), (-Cos54, -Sin54)];
        return outer.Zip(inner, (o, i) => new[] { o, (i.Item1 * Inner, i.Item2 * Inner) }).SelectMany(pair => pair).ToArray();
    }

    /// <summary>Even-odd crossing test.</summary>
    private static bool InsidePolygon((double X, double Y)[] polygon, double x, double y)
    {
        var inside = false;
        for (int i = 0, j = polygon.Length - 1; i < polygon.Length; j = i++)
        {
            var (xi, yi) = polygon[i];
            var (xj, yj) = polygon[j];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
    }
}
