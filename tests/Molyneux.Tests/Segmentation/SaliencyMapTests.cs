using Molyneux.Segmentation;
using SkiaSharp;

namespace Molyneux.Tests.Segmentation;

public class SaliencyMapTests
{
    [Fact]
    public void Values_must_match_the_size_and_be_finite()
    {
        Assert.Throws<ArgumentException>(() => new SaliencyMap(2, 2, [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new SaliencyMap(0, 2, []));
        var error = Assert.Throws<ArgumentException>(() => new SaliencyMap(2, 2, [0, 1, float.NaN, 3]));
        Assert.Contains("at (0, 1)", error.Message);
    }

    [Fact]
    public void Normalized_scales_min_to_0_and_max_to_1_and_a_constant_map_to_zeros()
    {
        var map = new SaliencyMap(2, 2, [2, 4, 6, 10]).Normalized();
        Assert.Equal([0f, 0.25f, 0.5f, 1f], map.Values.ToArray());
        Assert.Equal([0f, 0f, 0f], new SaliencyMap(3, 1, [7, 7, 7]).Normalized().Values.ToArray());
    }

    [Fact]
    public void Resized_follows_torch_bilinear_with_align_corners_false()
    {
        // Upsampling 2 → 4: source x = (d + 0.5) / 2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the last
        // pixel, which repeats), so a row [0, 1] becomes [0, 0.25, 0.75, 1]; rows likewise, and [[0, 1], [2, 3]]
        // is x + 2y on the interpolated coordinates.
        var up = new SaliencyMap(2, 2, [0, 1, 2, 3]).Resized(4, 4);
        float[] steps = [0, 0.25f, 0.75f, 1];
        for (var y = 0; y < 4; y++)
        for (var x = 0; x < 4; x++)
            Assert.Equal(steps[x] + 2 * steps[y], up[x, y], 1e-6f);

        // Downsampling 4 → 2: source x = (d + 0.5) · 2 − 0.5 = 0.5, 2.5: the mean of each pair.
        var down = new SaliencyMap(4, 1, [0, 2, 4, 8]).Resized(2, 1);
        Assert.Equal([1f, 6f], down.Values.ToArray());
    }

    [Fact]
    public void The_heat_map_png_has_the_map_size_and_the_inferno_ends_blended_half_over_the_image()
    {
        using var folder = new TestPaths.TempFolder();
        var map = new SaliencyMap(3, 2, [0, 0.5f, 1, 1, 1, 1]);

        var plain = folder.File("plain.png");
        map.WriteHeatMapPng(plain);
        using (var bitmap = SKBitmap.Decode(plain))
        {
            Assert.Equal((3, 2), (bitmap.Width, bitmap.Height));
            Assert.Equal(new SKColor(0, 0, 4), bitmap.GetPixel(0, 0));        // inferno(0)
            Assert.Equal(new SKColor(188, 55, 84), bitmap.GetPixel(1, 0));    // inferno(0.5)
            Assert.Equal(new SKColor(252, 255, 164), bitmap.GetPixel(2, 0));  // inferno(1)
        }

        var blended = folder.File("blended.png");
        var image = new byte[3 * 2 * 3];
        image[0] = 200; // pixel (0, 0) red 200, the rest black
        map.WriteHeatMapPng(blended, image);
        using (var bitmap = SKBitmap.Decode(blended))
        {
            Assert.Equal(new SKColor(100, 0, 2), bitmap.GetPixel(0, 0));      // ((0 + 200 + 1) / 2, 0, (4 + 1) / 2)
            Assert.Equal(new SKColor(126, 128, 82), bitmap.GetPixel(2, 0));   // (252 + 1) / 2, (255 + 1) / 2, (164 + 1) / 2
        }

        Assert.Throws<ArgumentException>(() => map.WriteHeatMapPng(folder.File("bad.png"), new byte[5]));
    }
}
