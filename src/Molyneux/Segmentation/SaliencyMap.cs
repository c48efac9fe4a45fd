using Molyneux.Imaging;
using Molyneux.Runtime;
using SkiaSharp;

namespace Molyneux.Segmentation;

/// <summary>How strongly each pixel of an image relates to a text: one finite float per pixel, row-major
/// (index y · Width + x). Plain arrays rather than tensors, because everything after the saliency method —
/// thresholds, components, metrics — is small sequential array work that libtorch would only slow down.</summary>
public sealed class SaliencyMap
{
    private readonly float[] values;

    /// <summary>Takes a copy of <paramref name="values"/> (Width · Height of them, row-major), so later changes to the
    /// caller's array cannot change the map. Refuses an empty size, a wrong count and NaN or infinite values, which
    /// every threshold below would turn into a silently wrong mask.</summary>
    public SaliencyMap(int width, int height, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"a saliency map needs a positive size, got {width}×{height}", nameof(width));
        if (values.Length != (long)width * height)
            throw new ArgumentException($"a {width}×{height} saliency map needs {(long)width * height} values, got {values.Length}", nameof(values));
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ArgumentException($"the saliency map has the value {values[i]} at ({i % width}, {i / width}); every value must be finite", nameof(values));
        Width = width;
        Height = height;
        this.values = (float[])values.Clone();
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The values, row-major.</summary>
    public ReadOnlySpan<float> Values => values;

    public float this[int x, int y] => values[Index(x, y)];

    public float Min => values.Min();

    public float Max => values.Max();

    /// <summary>Min–max scaled to [0, 1], so maps of different methods and images share one scale (the authors save
    /// every map this way before post-processing). A constant map carries no location and becomes all 0, rather than
    /// the 0 / 0 a plain division would give.</summary>
    public SaliencyMap Normalized()
    {
        var (min, max) = (Min, Max);
        var range = (double)max - min;
        var scaled = new float[values.Length];
        if (range > 0)
            for (var i = 0; i < scaled.Length; i++)
                scaled[i] = (float)Math.Clamp((this.values[i] - (double)min) / range, 0, 1);
        return new SaliencyMap(Width, Height, scaled);
    }

    /// <summary>Bilinear resampling with torch.nn.functional.interpolate's align_corners=False convention: output pixel
    /// centre d maps to source coordinate (d + 0.5) · in / out − 0.5, clamped at 0, and the last source pixel repeats
    /// past the edge. The same convention as the maps computed on the model's grid, so a map resized here lines up
    /// with one resized by libtorch.</summary>
    public SaliencyMap Resized(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"cannot resize a saliency map to {width}×{height}", nameof(width));
        if (width == Width && height == Height) return new SaliencyMap(Width, Height, values);

        var columns = SourceTaps(Width, width);
        var rows = SourceTaps(Height, height);
        var resized = new float[width * height];
        for (var y = 0; y < height; y++)
        {
            var (top, bottom, down) = rows[y];
            for (var x = 0; x < width; x++)
            {
                var (left, right, across) = columns[x];
                var upper = this.values[top * Width + left] * (1 - across) + this.values[top * Width + right] * across;
                var lower = this.values[bottom * Width + left] * (1 - across) + this.values[bottom * Width + right] * across;
                resized[y * width + x] = (float)(upper * (1 - down) + lower * down);
            }
        }
        return new SaliencyMap(width, height, resized);
    }

    /// <summary>Writes the map as a colour heat map PNG (inferno ramp over the min–max normalised values: black for the
    /// least salient, pale yellow for the most), blended half and half over <paramref name="rgb"/> when given
    /// (row-major RGB bytes of an image of the same size), so one can see what the text was found on. Atomic.</summary>
    public void WriteHeatMapPng(string path, ReadOnlySpan<byte> rgb = default)
    {
        if (!rgb.IsEmpty && rgb.Length != values.Length * 3)
            throw new ArgumentException($"{path}: the image under the heat map must be {Width}×{Height} RGB ({this.values.Length * 3} bytes), got {rgb.Length} bytes", nameof(rgb));

        var normalized = Normalized().values;
        var rgba = new byte[normalized.Length * 4];
        for (var i = 0; i < normalized.Length; i++)
        {
            var (r, g, b) = HeatColour(normalized[i]);
            if (!rgb.IsEmpty)
            {
                r = (byte)((r + rgb[3 * i] + 1) / 2);
                g = (byte)((g + rgb[3 * i + 1] + 1) / 2);
                b = (byte)((b + rgb[3 * i + 2] + 1) / 2);
            }
            rgba[4 * i] = r;
            rgba[4 * i + 1] = g;
            rgba[4 * i + 2] = b;
            rgba[4 * i + 3] = 255;
        }
        PngPixels.Write(path, rgba, Width, Height, SKColorType.Rgba8888, "heat map");
    }

    /// <summary>Matplotlib's inferno colour map at nine evenly spaced stops (0, 1/8, …, 1: entries 0, 32, 64, 96, 128,
    /// 159, 191, 223, 255 of its 256-entry table, times 255), interpolated linearly between them: perceptually ordered
    /// and readable in grey, unlike jet.</summary>
    private static readonly byte[,] Inferno =
    {
        { 0, 0, 4 }, { 33, 12, 74 }, { 87, 16, 110 }, { 138, 34, 106 }, { 188, 55, 84 },
        { 227, 89, 51 }, { 249, 140, 10 }, { 249, 201, 50 }, { 252, 255, 164 },
    };

    internal static (byte R, byte G, byte B) HeatColour(float value)
    {
        var position = Math.Clamp(value, 0f, 1f) * (Inferno.GetLength(0) - 1);
        var low = Math.Min((int)position, Inferno.GetLength(0) - 2);
        var fraction = position - low;
        byte Channel(int c) => (byte)Math.Round(Inferno[low, c] + (Inferno[low + 1, c] - Inferno[low, c]) * fraction);
        return (Channel(0), Channel(1), Channel(2));
    }

    private int Index(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"pixel ({x}, {y}) is outside the {Width}×{Height} saliency map");
        return y * Width + x;
    }

    /// <summary>Per output index: the two source indices to blend and the weight of the second.</summary>
    private static (int Low, int High, double Weight)[] SourceTaps(int inputSize, int outputSize)
    {
        var scale = (double)inputSize / outputSize;
        var taps = new (int, int, double)[outputSize];
        for (var d = 0; d < outputSize; d++)
        {
            var source = Math.Max((d + 0.5) * scale - 0.5, 0);
            var low = Math.Min((int)source, inputSize - 1);
            var high = Math.Min(low + 1, inputSize - 1);
            taps[d] = (low, high, source - low);
        }
        return taps;
    }
}
