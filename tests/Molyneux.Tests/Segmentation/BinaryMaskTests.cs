using Molyneux.Segmentation;
using Molyneux.Tests.Imaging;
using SkiaSharp;

namespace Molyneux.Tests.Segmentation;

public class BinaryMaskTests
{
    [Fact]
    public void A_mask_written_as_png_reads_back_pixel_for_pixel_as_gray_0_and_255()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("masks/a/3.png");
        var mask = MaskText.Parse(
            "#...#",
            ".##..",
            ".###.");
        mask.WritePng(path);

        using (var bitmap = SKBitmap.Decode(path))
        {
            Assert.Equal((5, 3), (bitmap.Width, bitmap.Height));
            Assert.Equal(SKColorType.Gray8, bitmap.ColorType);
            Assert.Equal(255, bitmap.GetPixel(0, 0).Red);
            Assert.Equal(0, bitmap.GetPixel(1, 0).Red);
        }
        var read = BinaryMask.ReadPng(path);
        Assert.Equal(MaskText.Format(mask), MaskText.Format(read));
        Assert.Equal(7, read.Count);
        Assert.Equal(path, read.Source);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void Gray_masks_of_0_and_1_and_rgb_masks_of_equal_channels_are_accepted()
    {
        using var folder = new TestPaths.TempFolder();
        var zeroOne = folder.File("zero-one.png");
        File.WriteAllBytes(zeroOne, ImageTestFiles.Png(3, 1, 8, 0, [[0, 1, 1]]));
        Assert.Equal([".##"], MaskText.Format(BinaryMask.ReadPng(zeroOne)));

        var rgb = folder.File("rgb.png");
        File.WriteAllBytes(rgb, ImageTestFiles.Png(2, 2, 8, 2, [[255, 255, 255, 0, 0, 0], [0, 0, 0, 255, 255, 255]]));
        Assert.Equal(["#.", ".#"], MaskText.Format(BinaryMask.ReadPng(rgb)));
    }

    [Fact]
    public void A_gray_image_with_other_values_is_refused_naming_the_file_the_count_and_a_pixel()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("masks/a/3.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Values 0, 255 and 37 (first at x = 1, y = 1): three distinct values.
        File.WriteAllBytes(path, ImageTestFiles.Png(3, 2, 8, 0, [[0, 255, 0], [255, 37, 37]]));

        var error = Assert.Throws<DatasetException>(() => BinaryMask.ReadPng(path));
        Assert.Equal($"{path}: not a binary mask: 3 distinct values, e.g. 37 at (1, 1); expected only 0 and 255 (or only 0 and 1)", error.Message);
    }

    [Fact]
    public void Mixing_1_and_255_is_not_binary_either()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("mixed.png");
        File.WriteAllBytes(path, ImageTestFiles.Png(3, 1, 8, 0, [[0, 255, 1]]));
        var error = Assert.Throws<DatasetException>(() => BinaryMask.ReadPng(path));
        Assert.Contains("e.g. 1 at (2, 0)", error.Message);
    }

    [Fact]
    public void A_coloured_pixel_is_refused_naming_the_file_and_the_pixel()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("label-map.png");
        File.WriteAllBytes(path, ImageTestFiles.Png(2, 1, 8, 2, [[0, 0, 0, 255, 0, 0]]));
        var error = Assert.Throws<DatasetException>(() => BinaryMask.ReadPng(path));
        Assert.StartsWith($"{path}: not a binary mask: pixel (1, 0) is coloured (R 255, G 0, B 0)", error.Message);
    }

    [Fact]
    public void A_missing_or_undecodable_file_is_an_image_error_naming_it()
    {
        using var folder = new TestPaths.TempFolder();
        var missing = folder.File("absent.png");
        Assert.Equal($"{missing}: no such mask file", Assert.Throws<ImageException>(() => BinaryMask.ReadPng(missing)).Message);

        var garbage = folder.File("garbage.png");
        File.WriteAllText(garbage, "not a png at all");
        Assert.StartsWith($"{garbage}: not an image Skia can decode", Assert.Throws<ImageException>(() => BinaryMask.ReadPng(garbage)).Message);
    }

    [Fact]
    public void Construction_checks_the_pixel_count_and_copies_the_array()
    {
        var pixels = new[] { true, false, false, true };
        var mask = new BinaryMask(2, 2, pixels);
        pixels[1] = true;
        Assert.False(mask[1, 0]);
        Assert.Equal(2, mask.Count);
        Assert.Throws<ArgumentException>(() => new BinaryMask(3, 2, pixels));
        Assert.Throws<ArgumentOutOfRangeException>(() => mask[2, 0]);
    }
}
