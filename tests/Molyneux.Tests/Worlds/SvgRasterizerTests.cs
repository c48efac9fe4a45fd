using Molyneux.Imaging;
using Molyneux.Worlds.Emoji;
using SkiaSharp;

namespace Molyneux.Tests.Worlds;

/// <summary>The in-process rasterizer against the PNGs librsvg made of the same OpenMoji SVGs before it
/// (Fixtures/openmoji/README.md). Over all 4 495 colour SVGs of OpenMoji 17 the mean absolute difference was 1.13 of
/// 255 (99th percentile 2.29, largest 3.82, both of which are fixtures here): anti-aliasing, not drawing.</summary>
public class SvgRasterizerTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepositoryRoot, "tests/Molyneux.Tests/Fixtures/openmoji", name);

    [Theory]
    [InlineData("1F600")]
    [InlineData("1F9A9")]
    [InlineData("1F32D")]
    [InlineData("1F1EF-1F1F5")]
    [InlineData("1F32A")]
    [InlineData("1F685")]
    public void ToPng_MatchesLibrsvgWithinAntiAliasing(string codePoints)
    {
        using var temp = new TestPaths.TempFolder();
        File.WriteAllBytes(temp.File("skia.png"), SvgRasterizer.ToPng(Fixture(codePoints + ".svg"), 64, SKColors.White));

        using var ours = ImageDecoder.Load(temp.File("skia.png"));
        using var reference = ImageDecoder.Load(Fixture(codePoints + "_rsvg_64.png"));

        Assert.Equal(new long[] { 3, 64, 64 }, ours.shape);
        var meanAbsoluteDifference = (ours - reference).abs().mean().item<float>() * 255;
        var meanDifference = Math.Abs((ours.mean() - reference.mean()).item<float>() * 255);
        Assert.InRange(meanAbsoluteDifference, 0, 4.0);   // the worst of all 4 495 SVGs is 3.82
        Assert.InRange(meanDifference, 0, 2.0);           // brightness: the worst of all is 1.72
    }

    [Fact]
    public void ToPng_FillsTheBackgroundAndScalesTheViewBoxToTheSquare()
    {
        using var temp = new TestPaths.TempFolder();
        File.WriteAllText(temp.File("square.svg"),
            """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 36"><rect x="0" y="0" width="36" height="36" fill="#ff0000"/></svg>""");

        using var bitmap = SKBitmap.Decode(SvgRasterizer.ToPng(temp.File("square.svg"), 64, SKColors.White));

        // A 72×36 view box fills the width and is centred vertically: the red square is 32 px, from y = 16 to 48.
        Assert.Equal((64, 64), (bitmap.Width, bitmap.Height));
        Assert.Equal(new SKColor(255, 0, 0), bitmap.GetPixel(16, 32));
        Assert.Equal(SKColors.White, bitmap.GetPixel(48, 32));
        Assert.Equal(SKColors.White, bitmap.GetPixel(16, 8));
    }

    [Fact]
    public void ToPng_NotAnSvg_IsErrorNamingTheFile()
    {
        using var temp = new TestPaths.TempFolder();
        File.WriteAllText(temp.File("broken.svg"), "<svg this is not xml");

        var error = Assert.Throws<DatasetException>(() => SvgRasterizer.ToPng(temp.File("broken.svg"), 64, SKColors.White));

        Assert.Contains(temp.File("broken.svg"), error.Message);
    }
}
