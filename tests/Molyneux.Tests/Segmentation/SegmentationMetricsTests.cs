using System.Diagnostics;
using Molyneux.Segmentation;

namespace Molyneux.Tests.Segmentation;

public class SegmentationMetricsTests
{
    [Fact]
    public void Two_4x4_squares_offset_by_one_pixel_overlap_in_a_4x3_strip()
    {
        // |P| = |T| = 16, |P ∩ T| = 12, |P ∪ T| = 20: Dice = 24 / 32 = 3/4, IoU = 12 / 20 = 3/5.
        var truth = MaskText.Rectangle(8, 8, 1, 1, 5, 5);
        var prediction = MaskText.Rectangle(8, 8, 2, 1, 6, 5);
        Assert.Equal(0.75, SegmentationMetrics.Dice(prediction, truth), 1e-15);
        Assert.Equal(0.6, SegmentationMetrics.IoU(prediction, truth), 1e-15);

        // Offset diagonally by one: 3×3 = 9 shared, 23 in the union: Dice 18/32, IoU 9/23.
        var diagonal = MaskText.Rectangle(8, 8, 2, 2, 6, 6);
        Assert.Equal(18.0 / 32, SegmentationMetrics.Dice(diagonal, truth), 1e-15);
        Assert.Equal(9.0 / 23, SegmentationMetrics.IoU(diagonal, truth), 1e-15);
    }

    [Fact]
    public void Surface_dice_of_two_2x2_squares_two_pixels_apart_depends_on_the_tolerance()
    {
        // Truth: pixels x 1…2, y 1…2; prediction: x 3…4, y 1…2. Contours live on pixel corners: the truth's are the
        // 8 corners of x 1…3, y 1…3 but the centre (2, 2); the 4 outer corners carry √2/2 each, the 4 edge middles 1:
        // length 4 + 2√2 per mask. The prediction's corners are x 3…5. Shared corner column x = 3: (3, 1) and (3, 3)
        // at √2/2 and (3, 2) at 1 on each side, at distance 0.
        //   τ = 0: (1 + √2) per mask within → NSD = (1 + √2) / (4 + 2√2) = √2/4.
        //   τ = 1: also the truth's (2, 1) and (2, 3) (1 from (3, 1), (3, 3)), length 1 each, and the mirror corners
        //          of the prediction: (3 + √2) / (4 + 2√2) = 1 − √2/4. The corners at x = 1 (and 5) are 2 away.
        //   τ = 2: everything: 1.
        var truth = MaskText.Rectangle(6, 4, 1, 1, 3, 3);
        var prediction = MaskText.Rectangle(6, 4, 3, 1, 5, 3);
        Assert.Equal(Math.Sqrt(2) / 4, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 0), 1e-12);
        Assert.Equal(Math.Sqrt(2) / 4, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 0.99), 1e-12);
        Assert.Equal(1 - Math.Sqrt(2) / 4, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 1), 1e-12);
        Assert.Equal(1.0, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 2), 1e-12);
        Assert.Equal(0.0, SegmentationMetrics.Dice(prediction, truth));
    }

    [Fact]
    public void Surface_dice_of_two_single_pixels_side_by_side_is_half_at_0_and_whole_at_1()
    {
        // Each pixel has four contour corners of √2/2; two of each are shared (distance 0), the other two are 1 away.
        var truth = MaskText.Parse("....", ".#..", "....");
        var prediction = MaskText.Parse("....", "..#.", "....");
        Assert.Equal(0.5, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 0), 1e-12);
        Assert.Equal(1.0, SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 1), 1e-12);
    }

    [Fact]
    public void Surface_dice_matches_a_brute_force_reading_of_the_definition_on_random_blobs()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 20; trial++)
        {
            var (width, height) = (random.Next(5, 30), random.Next(5, 30));
            var truth = RandomBlobs(random, width, height);
            var prediction = RandomBlobs(random, width, height);
            if (truth.Count == 0 || prediction.Count == 0) continue;
            foreach (var tolerance in new[] { 0, 1, 1.5, 2, 3.7 })
                Assert.Equal(BruteForceNsd(prediction, truth, tolerance),
                    SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, tolerance), 1e-12);
        }
    }

    [Fact]
    public void Empty_masks_score_1_together_and_0_against_anything()
    {
        var empty = new BinaryMask(4, 4);
        var something = MaskText.Rectangle(4, 4, 1, 1, 2, 2);
        Assert.Equal(new SegmentationScores(1, 1, 1), SegmentationMetrics.Score(empty, new BinaryMask(4, 4), 2));
        Assert.Equal(new SegmentationScores(0, 0, 0), SegmentationMetrics.Score(empty, something, 2));
        Assert.Equal(new SegmentationScores(0, 0, 0), SegmentationMetrics.Score(something, empty, 2));
        Assert.Equal(new SegmentationScores(1, 1, 1), SegmentationMetrics.Score(something, something, 0));
    }

    [Fact]
    public void Masks_of_different_sizes_are_refused_with_both_sizes_and_files()
    {
        var error = Assert.Throws<ArgumentException>(() => SegmentationMetrics.Dice(new BinaryMask(4, 3), new BinaryMask(3, 4)));
        Assert.Contains("4×3", error.Message);
        Assert.Contains("3×4", error.Message);

        using var folder = new TestPaths.TempFolder();
        var truthPath = folder.File("masks/a/3.png");
        new BinaryMask(5, 5).WritePng(truthPath);
        var truth = BinaryMask.ReadPng(truthPath);
        var prediction = new BinaryMask(4, 4).WithSource("pred/a/3.png");
        var fileError = Assert.Throws<DatasetException>(() => SegmentationMetrics.Score(prediction, truth, 2));
        Assert.Equal($"the predicted mask is 4×4 (pred/a/3.png) but the ground truth is 5×5 ({truthPath}); " +
                     "masks must have the same size to be compared", fileError.Message);
    }

    [Fact]
    public void Surface_dice_of_224x224_masks_takes_milliseconds()
    {
        var truth = Disc(224, 112, 100, 60);
        var prediction = Disc(224, 120, 95, 55);
        SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 2);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 10; i++) SegmentationMetrics.NormalizedSurfaceDice(prediction, truth, 2);
        // A few ms each on one core; the bound leaves room for a loaded machine but not for a quadratic search.
        Assert.InRange(clock.Elapsed.TotalMilliseconds / 10, 0, 100);
    }

    private static BinaryMask Disc(int size, int centreX, int centreY, int radius)
    {
        var mask = new BinaryMask(size, size);
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
            mask[x, y] = (x - centreX) * (x - centreX) + (y - centreY) * (y - centreY) <= radius * radius;
        return mask;
    }

    private static BinaryMask RandomBlobs(Random random, int width, int height)
    {
        var mask = new BinaryMask(width, height);
        for (var blob = random.Next(1, 4); blob > 0; blob--)
        {
            var (cx, cy, r) = (random.Next(width), random.Next(height), random.Next(1, 6));
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r && random.NextDouble() < 0.9)
                    mask[x, y] = true;
        }
        return mask;
    }

    /// <summary>The reference's definition read literally: contour corners with marching-squares lengths, and for each
    /// the smallest distance to any contour corner of the other mask by trying them all.</summary>
    private static double BruteForceNsd(BinaryMask prediction, BinaryMask truth, double tolerance)
    {
        var p = ContourCorners(prediction);
        var t = ContourCorners(truth);
        double Within(List<(int X, int Y, double Length)> from, List<(int X, int Y, double Length)> to) =>
            from.Where(a => to.Min(b => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y))) <= tolerance)
                .Sum(a => a.Length);
        return (Within(p, t) + Within(t, p)) / (p.Sum(a => a.Length) + t.Sum(a => a.Length));
    }

    private static List<(int X, int Y, double Length)> ContourCorners(BinaryMask mask)
    {
        bool In(int x, int y) => x >= 0 && y >= 0 && x < mask.Width && y < mask.Height && mask[x, y];
        var corners = new List<(int, int, double)>();
        for (var y = 0; y <= mask.Height; y++)
        for (var x = 0; x <= mask.Width; x++)
        {
            bool topLeft = In(x - 1, y - 1), topRight = In(x, y - 1), bottomLeft = In(x - 1, y), bottomRight = In(x, y);
            var inside = new[] { topLeft, topRight, bottomLeft, bottomRight }.Count(b => b);
            double length = inside switch
            {
                1 or 3 => Math.Sqrt(2) / 2,
                2 when topLeft == bottomRight => Math.Sqrt(2), // the two diagonal cases: 2 × √2/2
                2 => 1,
                _ => 0,
            };
            if (inside is > 0 and < 4) corners.Add((x, y, length));
        }
        return corners;
    }
}
