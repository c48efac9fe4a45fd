using Molyneux.Imaging;
using TorchSharp;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.Imaging;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private string Write(string name, byte[] bytes)
    {
        var path = folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteWithSkia(string name, SKEncodedImageFormat format, int quality, Func<int, int, SKColor> colour, int width = 8, int height = 6)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, colour(x, y));
        using var data = bitmap.Encode(format, quality);
        return Write(name, data.ToArray());
    }

    private static float[] Pixel(Tensor image, int x, int y) =>
        [image[0, y, x].ToSingle(), image[1, y, x].ToSingle(), image[2, y, x].ToSingle()];

    private static void AssertColour(Tensor image, int x, int y, double r, double g, double b, double tolerance)
    {
        var pixel = Pixel(image, x, y);
        Assert.True(Math.Abs(pixel[0] - r) <= tolerance && Math.Abs(pixel[1] - g) <= tolerance && Math.Abs(pixel[2] - b) <= tolerance,
            $"pixel ({x}, {y}) is ({pixel[0]}, {pixel[1]}, {pixel[2]}), expected ({r}, {g}, {b}) ± {tolerance}");
    }

    [Fact]
    public void Image_PngDecodesToExactChannelsFirstRgb()
    {
        var path = WriteWithSkia("grid.png", SKEncodedImageFormat.Png, 100, (x, y) => new SKColor((byte)(10 * x), (byte)(40 * y), 255));

        using var image = ImageDecoder.Load(path);

        Assert.Equal(new long[] { 3, 6, 8 }, image.shape);
        Assert.Equal(ScalarType.Float32, image.dtype);
        Assert.Equal(DeviceType.CPU, image.device_type);
        AssertColour(image, 0, 0, 0, 0, 1, 1e-7);
        AssertColour(image, 7, 5, 70 / 255.0, 200 / 255.0, 1, 1e-7);
        AssertColour(image, 3, 2, 30 / 255.0, 80 / 255.0, 1, 1e-7);
    }

    [Fact]
    public void Image_JpegDecodesToItsColourWithinCompressionError()
    {
        var path = WriteWithSkia("solid.jpg", SKEncodedImageFormat.Jpeg, 95, (_, _) => new SKColor(200, 60, 30), 16, 16);

        using var image = ImageDecoder.Load(path);

        Assert.Equal(new long[] { 3, 16, 16 }, image.shape);
        AssertColour(image, 5, 9, 200 / 255.0, 60 / 255.0, 30 / 255.0, 4 / 255.0);
    }

    [Fact]
    public void Image_LosslessWebpDecodesExactly()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(5, 4, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(12, 34, 56));
        bitmap.SetPixel(4, 3, new SKColor(250, 128, 1));
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))!;
        var path = Write("image.webp", data.ToArray());

        using var image = ImageDecoder.Load(path);

        AssertColour(image, 0, 0, 12 / 255.0, 34 / 255.0, 56 / 255.0, 1e-7);
        AssertColour(image, 4, 3, 250 / 255.0, 128 / 255.0, 1 / 255.0, 1e-7);
    }

    [Fact]
    public void Image_AnimatedGifDecodesItsFirstFrame()
    {
        (byte, byte, byte)[] palette = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (10, 20, 30)];
        var path = Write("animated.gif", ImageTestFiles.Gif(6, 5, palette, 3, 1));

        using var image = ImageDecoder.Load(path);

        Assert.Equal(new long[] { 3, 5, 6 }, image.shape);
        AssertColour(image, 0, 0, 10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-7);
        AssertColour(image, 5, 4, 10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-7);
    }

    [Fact]
    public void Image_BmpDecodesTopRowFirst()
    {
        var path = Write("image.bmp", ImageTestFiles.Bmp(3, 2, (x, y) => y == 0 ? ((byte)(100 + x), (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)200)));

        using var image = ImageDecoder.Load(path);

        Assert.Equal(new long[] { 3, 2, 3 }, image.shape);
        AssertColour(image, 2, 0, 102 / 255.0, 0, 0, 1e-7);
        AssertColour(image, 1, 1, 0, 0, 200 / 255.0, 1e-7);
    }

    [Fact]
    public void Image_AlphaIsCompositedOnWhite()
    {
        byte[] row = [0, 0, 0, 0, /**/ 255, 0, 0, 128, /**/ 20, 40, 60, 255];
        var path = Write("alpha.png", ImageTestFiles.Png(3, 1, 8, 6, [row]));

        using var image = ImageDecoder.Load(path);

        AssertColour(image, 0, 0, 1, 1, 1, 1e-7);
        var pink = 1 - 128 / 255.0;
        AssertColour(image, 1, 0, 1, pink, pink, 1e-6);
        AssertColour(image, 2, 0, 20 / 255.0, 40 / 255.0, 60 / 255.0, 1e-7);
    }

    [Fact]
    public void Image_PremultipliedBitmapIsCompositedOnWhite()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Bgra8888, SKAlphaType.Premul));
        bitmap.SetPixel(0, 0, new SKColor(0, 0, 255, 0));
        bitmap.SetPixel(1, 0, new SKColor(0, 0, 255, 255));

        using var image = ImageDecoder.FromPixels(bitmap);

        AssertColour(image, 0, 0, 1, 1, 1, 1e-7);
        AssertColour(image, 1, 0, 0, 0, 1, 1e-7);
    }

    [Fact]
    public void Image_GrayscalePngBecomesThreeEqualChannels()
    {
        var path = Write("gray.png", ImageTestFiles.Png(2, 2, 8, 0, [[0, 77], [200, 255]]));

        using var image = ImageDecoder.Load(path);

        Assert.Equal(new long[] { 3, 2, 2 }, image.shape);
        AssertColour(image, 1, 0, 77 / 255.0, 77 / 255.0, 77 / 255.0, 1e-7);
        AssertColour(image, 0, 1, 200 / 255.0, 200 / 255.0, 200 / 255.0, 1e-7);
    }

    [Fact]
    public void Image_SixteenBitPngIsReducedToEightBits()
    {
        // Samples k × 257 are exactly k / 255, so any 16-to-8-bit rounding gives k.
        static byte[] Sample(int k) => [(byte)(k * 257 >> 8), (byte)(k * 257)];
        byte[] row = [.. Sample(10), .. Sample(128), .. Sample(250), .. Sample(255), .. Sample(0), .. Sample(3)];
        var path = Write("deep.png", ImageTestFiles.Png(2, 1, 16, 2, [row]));

        using var image = ImageDecoder.Load(path);

        AssertColour(image, 0, 0, 10 / 255.0, 128 / 255.0, 250 / 255.0, 1e-7);
        AssertColour(image, 1, 0, 1, 0, 3 / 255.0, 1e-7);
    }

    private void AssertRefused(string path, params string[] expectedInMessage)
    {
        var error = Assert.Throws<ImageException>(() => ImageDecoder.Load(path));
        Assert.Contains(path, error.Message);
        foreach (var expected in expectedInMessage)
            Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Image_EmptyFileIsRefused() => AssertRefused(Write("empty.png", []), "empty");

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    public void Image_TruncatedFileIsRefused(string format)
    {
        var random = new Random(5);
        var noise = WriteWithSkia($"noise.{format}", format == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 90,
            (_, _) => new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), 64, 64);
        var bytes = File.ReadAllBytes(noise);

        AssertRefused(Write($"truncated.{format}", bytes[..(bytes.Length / 2)]), "truncated");
    }

    /// <summary>Print workflows write CMYK JPEGs (Adobe's inverted CMYK); they decode to RGB, without colour
    /// management, close to the colours they were made from.</summary>
    [Fact]
    public void Image_CmykJpegDecodesToRgb()
    {
        using var image = ImageDecoder.Load(Path.Combine(TestPaths.RepositoryRoot, "tests/Molyneux.Tests/Fixtures/imaging/cmyk_8x6.jpg"));

        Assert.Equal(new long[] { 3, 6, 8 }, image.shape);
        AssertColour(image, 1, 2, 200 / 255.0, 60 / 255.0, 30 / 255.0, 8 / 255.0);
        AssertColour(image, 6, 3, 30 / 255.0, 90 / 255.0, 230 / 255.0, 8 / 255.0);
    }

    [Fact]
    public void Image_TextFileNamedPngIsRefused() =>
        AssertRefused(Write("notes.png", "just some text, not pixels\n"u8.ToArray()), "not an image");

    [Fact]
    public void Image_MissingFileIsRefused() => AssertRefused(folder.File("absent.png"), "no such");

    [Fact]
    public void Image_FolderIsRefused() => AssertRefused(this.folder.Path, "folder");

    [Fact]
    public void Image_HugeDimensionsAreRefusedFromTheHeader() =>
        AssertRefused(Write("huge.png", ImageTestFiles.PngHeaderOnly(30000, 30000)), "30000×30000", "limit");

    [Fact]
    public void Image_SavePngThenLoadRoundTripsWithinOneStep()
    {
        using var original = rand(3, 17, 23, generator: new TorchSharp.torch.Generator(7));
        var path = folder.File("saved/round-trip.png");

        ImageDecoder.SavePng(path, original);
        using var loaded = ImageDecoder.Load(path);

        Assert.Equal(original.shape, loaded.shape);
        Assert.True(loaded.sub(original).abs().max().ToSingle() <= 0.5f / 255 + 1e-6f);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Image_SavePngClampsOutOfRangeValues()
    {
        using var image = tensor(new[] { -0.5f, 1.5f, float.NaN, 0.2f, 2f, -1f }, [3, 1, 2]);
        var path = folder.File("clamped.png");

        ImageDecoder.SavePng(path, image);
        using var loaded = ImageDecoder.Load(path);

        AssertColour(loaded, 0, 0, 0, 0, 1, 1e-7);
        AssertColour(loaded, 1, 0, 1, 51 / 255.0, 0, 1e-7);
    }
}
