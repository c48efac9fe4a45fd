using Molyneux.Segmentation;

namespace Molyneux.Tests.Segmentation;

public class SaliencyThresholdTests
{
    /// <summary>A 20×20 map: a 6×5 block at x 8…13, y 4…8 with values 0.75, 0.875 or 1, the rest 0, 0.125 or 0.25,
    /// in a fixed pattern (all exactly representable, so the histogram below is exact).</summary>
    private static (SaliencyMap Map, BinaryMask Object) Bimodal()
    {
        var objectMask = MaskText.Rectangle(20, 20, 8, 4, 14, 9);
        var values = new float[400];
        for (var i = 0; i < values.Length; i++)
            values[i] = (objectMask.Pixels[i] ? 0.75f : 0f) + 0.125f * (i * 37 % 3);
        return (new SaliencyMap(20, 20, values), objectMask);
    }

    [Fact]
    public void Otsu_puts_the_threshold_at_the_first_best_split_between_the_modes_and_recovers_the_object()
    {
        // Over [0, 1] the 256 bins are 1/256 wide; the background's top value 0.25 opens bin 64 and the object's
        // lowest, 0.75, opens bin 192. Every split from bin 64 to bin 191 separates the same two classes with the
        // same between-class variance; the first wins, and the threshold is bin 64's centre, 64.5 / 256.
        var (map, objectMask) = Bimodal();
        var threshold = SaliencyThreshold.Otsu(map);
        Assert.Equal(64.5 / 256, threshold);
        Assert.Equal(MaskText.Format(objectMask), MaskText.Format(SaliencyThreshold.Above(map, threshold)));
    }

    [Fact]
    public void Otsu_on_two_values_splits_after_the_first_bin_as_skimage_does()
    {
        // Values 0 and 1 fill bins 0 and 255 only; every split between them has the same between-class variance, and
        // the first (after bin 0) wins: the centre of bin 0, (0 + 1/256) / 2 = 1/512.
        var map = new SaliencyMap(4, 1, [0, 1, 1, 0]);
        Assert.Equal(1.0 / 512, SaliencyThreshold.Otsu(map), 1e-12);
        Assert.Equal(3.0, SaliencyThreshold.Otsu(new SaliencyMap(2, 1, [3, 3])));
    }

    [Fact]
    public void Quantile_interpolates_linearly_between_order_statistics()
    {
        var map = new SaliencyMap(5, 2, [9, 0, 8, 1, 7, 2, 6, 3, 5, 4]);
        // Sorted 0…9: q = 0.25 sits at position 2.25 → 2.25; q = 0.9 at 8.1 → 8.1.
        Assert.Equal(2.25, SaliencyThreshold.Quantile(map, 0.25), 1e-12);
        Assert.Equal(8.1, SaliencyThreshold.Quantile(map, 0.9), 1e-12);
        Assert.Equal(1, SaliencyThreshold.Above(map, SaliencyThreshold.Quantile(map, 0.9)).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencyThreshold.Quantile(map, 1));
    }

    [Fact]
    public void KMeans_splits_two_groups_at_the_midpoint_of_their_means()
    {
        // Start: centres at the minimum 0 and the maximum 12, boundary 6; clusters {0, 1, 2} and {10, 11, 12},
        // centres 1 and 11, boundary 6 again: converged.
        var map = new SaliencyMap(3, 2, [0, 10, 1, 11, 2, 12]);
        Assert.Equal(6.0, SaliencyThreshold.KMeansThreshold(map), 1e-12);
        Assert.Equal([".#.", "#.#"], MaskText.Format(SaliencyThreshold.KMeans(map)));
    }

    [Fact]
    public void KMeans_recovers_a_small_object_that_quantile_starts_would_miss()
    {
        // The object is 30 of 400 pixels. Started at the 25 % and 75 % quantiles (0 and 0.25, both background) Lloyd's
        // iterations stop at {0, 0.125} against {0.25, object} (centres 0.0625 and 0.372, boundary 0.217 keeps that
        // split); started at the minimum and maximum they find background against object.
        var (map, objectMask) = Bimodal();
        Assert.Equal(MaskText.Format(objectMask), MaskText.Format(SaliencyThreshold.KMeans(map)));
    }

    [Fact]
    public void KMeans_with_three_clusters_keeps_only_the_highest()
    {
        var map = new SaliencyMap(6, 1, [0, 5, 10, 0, 5, 10]);
        Assert.Equal(["..#..#"], MaskText.Format(SaliencyThreshold.KMeans(map, clusters: 3)));
        Assert.Equal(0, SaliencyThreshold.KMeans(new SaliencyMap(2, 2, [4, 4, 4, 4])).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencyThreshold.KMeans(map, clusters: 1));
    }
}
