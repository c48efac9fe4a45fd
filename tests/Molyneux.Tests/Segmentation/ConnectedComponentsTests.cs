using Molyneux.Segmentation;

namespace Molyneux.Tests.Segmentation;

public class ConnectedComponentsTests
{
    private static readonly BinaryMask TwoBlobs = MaskText.Parse(
        "........",
        ".##.....",
        ".##...#.",
        "......##",
        "......#.",
        "........");

    [Fact]
    public void Two_blobs_give_two_labels_sizes_and_boxes_with_exclusive_right_and_bottom()
    {
        var components = ConnectedComponents.Label(TwoBlobs);
        Assert.Equal(2, components.Count);
        Assert.Equal([4, 4], components.Sizes);
        // The square covers x 1…2, y 1…2; the other blob x 6…7, y 2…4.
        Assert.Equal([new PixelBox(1, 1, 3, 3), new PixelBox(6, 2, 8, 5)], ConnectedComponents.Boxes(TwoBlobs));
        Assert.Equal(1, components.Labels[1 * 8 + 2]);
        Assert.Equal(2, components.Labels[4 * 8 + 6]);
        Assert.Equal(0, components.Labels[0]);
    }

    [Fact]
    public void Diagonal_neighbours_join_under_8_connectivity_only()
    {
        var diagonal = MaskText.Parse(
            "#..",
            ".#.",
            "..#");
        Assert.Equal(1, ConnectedComponents.Label(diagonal).Count);
        var four = ConnectedComponents.Label(diagonal, Connectivity.Four);
        Assert.Equal(3, four.Count);
        Assert.Equal([new PixelBox(0, 0, 1, 1), new PixelBox(1, 1, 2, 2), new PixelBox(2, 2, 3, 3)], four.Boxes);
    }

    [Fact]
    public void Largest_keeps_the_biggest_component_and_ties_all()
    {
        var mask = MaskText.Parse(
            "###..#",
            "......",
            "##...#");
        Assert.Equal(["###...", "......", "......"], MaskText.Format(ConnectedComponents.Largest(mask)));
        // Two pairs tie for the largest size: both are kept, as the authors' top-k size filter keeps them.
        var tie = MaskText.Parse(
            "##..##",
            "......",
            "#.....");
        Assert.Equal(["##..##", "......", "......"], MaskText.Format(ConnectedComponents.Largest(tie)));
        Assert.Equal(0, ConnectedComponents.Largest(new BinaryMask(3, 3)).Count);
    }

    [Fact]
    public void AboveSize_keeps_components_of_at_least_the_minimum()
    {
        var mask = MaskText.Parse(
            "###..#",
            "......",
            "##...#");
        Assert.Equal(["###...", "......", "##...."], MaskText.Format(ConnectedComponents.AboveSize(mask, 2)));
        Assert.Equal(["###...", "......", "......"], MaskText.Format(ConnectedComponents.AboveSize(mask, 3)));
        Assert.Equal(0, ConnectedComponents.AboveSize(mask, 4).Count);
        Assert.Equal(mask.Count, ConnectedComponents.AboveSize(mask, 0).Count);
    }
}
