using Molyneux.Segmentation;

namespace Molyneux.Tests.Segmentation;

public class SaliencyToMaskTests
{
    /// <summary>A 12×10 map at 0.1 with a hot 4×3 block (x 1…4, y 1…3) at 0.9 and a hot 2×2 speck (x 9…10, y 6…7) at
    /// 0.8.</summary>
    private static SaliencyMap TwoHotSpots()
    {
        var values = new float[12 * 10];
        Array.Fill(values, 0.1f);
        for (var y = 1; y <= 3; y++)
        for (var x = 1; x <= 4; x++)
            values[y * 12 + x] = 0.9f;
        for (var y = 6; y <= 7; y++)
        for (var x = 9; x <= 10; x++)
            values[y * 12 + x] = 0.8f;
        return new SaliencyMap(12, 10, values);
    }

    [Fact]
    public void The_default_keeps_the_largest_hot_component_and_boxes_it()
    {
        var result = SaliencyToMask.Apply(TwoHotSpots(), new MaskOptions());
        Assert.Equal(MaskText.Format(MaskText.Rectangle(12, 10, 1, 1, 5, 4)), MaskText.Format(result.Mask));
        Assert.Equal([new PixelBox(1, 1, 5, 4)], result.Boxes);
    }

    [Theory]
    [InlineData(MaskMethod.Otsu)]
    [InlineData(MaskMethod.KMeans)]
    [InlineData(MaskMethod.Fixed)]
    public void All_components_above_a_size_keep_both_spots_or_drop_the_speck(MaskMethod method)
    {
        var both = SaliencyToMask.Apply(TwoHotSpots(), new MaskOptions { Method = method, Components = ComponentSelection.AllAboveSize });
        Assert.Equal(16, both.Mask.Count);
        Assert.Equal([new PixelBox(1, 1, 5, 4), new PixelBox(9, 6, 11, 8)], both.Boxes);

        var big = SaliencyToMask.Apply(TwoHotSpots(), new MaskOptions
        {
            Method = method, Components = ComponentSelection.AllAboveSize, MinimumPixels = 5,
        });
        Assert.Equal([new PixelBox(1, 1, 5, 4)], big.Boxes);
        Assert.Equal(12, big.Mask.Count);
    }

    [Fact]
    public void Quantile_keeps_the_top_fraction()
    {
        // Normalised, the background is 0, the speck 0.875 and the block 1. Sorted, the speck sits at 104…107 and
        // the block at 108…119; q = 0.9 is position 107.1, level 0.875 + 0.1 · 0.125 = 0.8875: only the block is above.
        var result = SaliencyToMask.Apply(TwoHotSpots(), new MaskOptions
        {
            Method = MaskMethod.Quantile, Quantile = 0.9, Components = ComponentSelection.AllAboveSize,
        });
        Assert.Equal([new PixelBox(1, 1, 5, 4)], result.Boxes);
    }

    [Fact]
    public void A_map_without_foreground_gives_an_empty_mask_and_the_whole_image_box()
    {
        var result = SaliencyToMask.Apply(new SaliencyMap(5, 4, new float[20]), new MaskOptions());
        Assert.Equal(0, result.Mask.Count);
        Assert.Equal([new PixelBox(0, 0, 5, 4)], result.Boxes);

        var tooSmall = SaliencyToMask.Apply(TwoHotSpots(), new MaskOptions { MinimumPixels = 13 });
        Assert.Equal(0, tooSmall.Mask.Count);
    }

    [Fact]
    public void Invalid_options_are_option_errors()
    {
        var map = TwoHotSpots();
        Assert.Contains("quantile 1.5", Assert.Throws<OptionException>(() =>
            SaliencyToMask.Apply(map, new MaskOptions { Method = MaskMethod.Quantile, Quantile = 1.5 })).Message);
        Assert.Throws<OptionException>(() => SaliencyToMask.Apply(map, new MaskOptions { Clusters = 1 }));
        Assert.Throws<OptionException>(() => SaliencyToMask.Apply(map, new MaskOptions { MinimumPixels = -1 }));
    }

    [Fact]
    public void The_box_clipping_prompter_keeps_the_proposal_inside_the_boxes_only()
    {
        var proposal = MaskText.Parse(
            "##..#",
            "##..#");
        var prompter = new BoxClippingPrompter();
        var clipped = prompter.Segment(new byte[5 * 2 * 3], 5, 2, [new PixelBox(1, 0, 4, 2)], proposal);
        Assert.Equal([".#...", ".#..."], MaskText.Format(clipped));
        Assert.Equal(0, prompter.Segment([], 5, 2, [], proposal).Count);
        Assert.Throws<ArgumentException>(() => prompter.Segment([], 4, 2, [], proposal));
    }
}
