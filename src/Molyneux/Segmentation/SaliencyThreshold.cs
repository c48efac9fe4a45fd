namespace Molyneux.Segmentation;

/// <summary>
/// Turning a saliency map into a foreground mask: a threshold t (foreground = value &gt; t, strictly, as
/// <c>image &gt; threshold_otsu(image)</c> is used) chosen by Otsu's method, a quantile, or 1-D k-means.
/// <para>What MedCLIP-SAMv2 does (<c>postprocessing/postprocess_saliency_maps.py</c>): its default is k-means with
/// scikit-learn's <c>KMeans(n_clusters=2, random_state=10)</c> on the map read back from an 8-bit PNG (values
/// /255) and resized to 256×256 by nearest neighbour, every cluster but the one with the lowest centre being
/// foreground; its "thresholding" option is a fixed 0.3 on that [0, 1] map; its CRF option needs pydensecrf and is
/// not reproduced. <see cref="KMeans"/> follows the k-means choice with two differences: it clusters the float map
/// at its own size (no 8-bit rounding, no 256×256 detour), and it starts from centres evenly spaced from the
/// minimum to the maximum value instead of a seeded k-means++, so it is deterministic without a random generator.
/// That start keeps k-means++'s point — the first centres lie far apart — where evenly spaced quantiles would not:
/// with a small object (say 7 % of the pixels) both quantile starts lie in the background and Lloyd's iterations
/// settle on a split of the background. For more than two clusters only the cluster with the highest centre is
/// foreground here, where the authors keep all but the lowest.</para>
/// </summary>
public static class SaliencyThreshold
{
    /// <summary>Bins of <see cref="Otsu"/>'s histogram, as skimage's default.</summary>
    public const int OtsuBins = 256;

    /// <summary>Lloyd iterations at most; scikit-learn's default. One-dimensional runs converge in far fewer.</summary>
    public const int DefaultKMeansIterations = 300;

    /// <summary>The pixels above <paramref name="threshold"/> (strictly).</summary>
    public static BinaryMask Above(SaliencyMap map, double threshold)
    {
        ArgumentNullException.ThrowIfNull(map);
        var values = map.Values;
        var pixels = new bool[values.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = values[i] > threshold;
        return new BinaryMask(map.Width, map.Height, pixels);
    }

    /// <summary>Otsu's threshold as skimage.filters.threshold_otsu computes it: a histogram of
    /// <see cref="OtsuBins"/> equal bins over [min, max] (numpy's binning, the maximum in the last bin), and for each
    /// split between bin i and i + 1 the between-class variance w₁(i)·w₂(i+1)·(μ₁(i) − μ₂(i+1))² with class means taken
    /// over bin centres; the threshold is the centre of the first bin i that maximises it. A constant map returns its
    /// value, so nothing lies above it. As there, values in the threshold's own bin but above its centre end up
    /// foreground: the split is only resolved to a bin (1/256 of the range).</summary>
    public static double Otsu(SaliencyMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var values = map.Values;
        double min = map.Min, max = map.Max;
        if (min == max) return min;

        var edges = new double[OtsuBins + 1];
        var step = (max - min) / OtsuBins;
        for (var i = 0; i < OtsuBins; i++) edges[i] = min + i * step;
        edges[OtsuBins] = max;

        var counts = new long[OtsuBins];
        var scale = OtsuBins / (max - min);
        foreach (var value in values)
        {
            var bin = (int)((value - min) * scale);
            if (bin >= OtsuBins) bin = OtsuBins - 1;
            // numpy corrects the arithmetic's rounding against the edges themselves.
            if (value < edges[bin]) bin--;
            else if (bin < OtsuBins - 1 && value >= edges[bin + 1]) bin++;
            counts[bin]++;
        }

        var centres = new double[OtsuBins];
        for (var i = 0; i < OtsuBins; i++) centres[i] = (edges[i] + edges[i + 1]) / 2;

        // Suffix totals give class 2 (bins i+1 … end) for every split in one pass after class 1's running sums.
        var weightAbove = new double[OtsuBins + 1];
        var sumAbove = new double[OtsuBins + 1];
        for (var i = OtsuBins - 1; i >= 0; i--)
        {
            weightAbove[i] = weightAbove[i + 1] + counts[i];
            sumAbove[i] = sumAbove[i + 1] + counts[i] * centres[i];
        }

        double weightBelow = 0, sumBelow = 0, best = double.NegativeInfinity;
        var bestBin = 0;
        for (var i = 0; i < OtsuBins - 1; i++)
        {
            weightBelow += counts[i];
            sumBelow += counts[i] * centres[i];
            // Bin 0 holds the minimum and the last bin the maximum, so neither weight is ever 0 here.
            var difference = sumBelow / weightBelow - sumAbove[i + 1] / weightAbove[i + 1];
            var variance = weightBelow * weightAbove[i + 1] * difference * difference;
            if (variance > best)
            {
                best = variance;
                bestBin = i;
            }
        }
        return centres[bestBin];
    }

    /// <summary>The <paramref name="q"/>-quantile of the values (numpy's default linear interpolation between the
    /// two nearest order statistics), so that about a fraction 1 − q of the pixels lie above it: for a fixed expected
    /// object size rather than a fixed saliency level.</summary>
    public static double Quantile(SaliencyMap map, double q)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (!(q > 0 && q < 1))
            throw new ArgumentOutOfRangeException(nameof(q), $"quantile {q}: must lie strictly between 0 and 1");
        return QuantileOfSorted(Sorted(map), q);
    }

    /// <summary>The mask of the highest of <paramref name="clusters"/> clusters of the values (see the class summary
    /// for how this follows the authors' k-means post-processing).</summary>
    public static BinaryMask KMeans(SaliencyMap map, int clusters = 2, int maxIterations = DefaultKMeansIterations) =>
        Above(map, KMeansThreshold(map, clusters, maxIterations));

    /// <summary>Lloyd's k-means on the values alone, from centres min + (max − min) · j / (k − 1), j = 0 … k − 1. In one
    /// dimension each cluster is an interval of the sorted values, bounded by midpoints between neighbouring centres
    /// (a value on a midpoint joins the lower cluster, as a tie in scikit-learn goes to the first centre), so each
    /// iteration is a few binary searches over the sorted values and prefix sums; it stops when no boundary moves,
    /// which is an exact fixed point. A cluster left empty keeps its centre. Returns the boundary below the highest
    /// cluster: its members are exactly the values above it, and a constant map gives its value (nothing above).</summary>
    public static double KMeansThreshold(SaliencyMap map, int clusters = 2, int maxIterations = DefaultKMeansIterations)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (clusters < 2)
            throw new ArgumentOutOfRangeException(nameof(clusters), $"k-means needs at least 2 clusters, got {clusters}");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        var sorted = Sorted(map);
        if (clusters > sorted.Length)
            throw new ArgumentOutOfRangeException(nameof(clusters), $"{clusters} clusters for {sorted.Length} pixels");

        var prefix = new double[sorted.Length + 1];
        for (var i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];

        var centres = new double[clusters];
        var (min, max) = (sorted[0], sorted[^1]);
        for (var j = 0; j < clusters; j++) centres[j] = min + (max - min) * j / (clusters - 1);
        var starts = new int[clusters + 1];
        starts[clusters] = sorted.Length;
        var previous = new int[clusters + 1];
        Array.Fill(previous, -1);

        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            for (var j = 1; j < clusters; j++)
                starts[j] = CountAtMost(sorted, (centres[j - 1] + centres[j]) / 2);
            if (starts.AsSpan().SequenceEqual(previous)) break;
            starts.CopyTo(previous, 0);
            for (var j = 0; j < clusters; j++)
            {
                var count = starts[j + 1] - starts[j];
                if (count > 0) centres[j] = (prefix[starts[j + 1]] - prefix[starts[j]]) / count;
            }
            Array.Sort(centres);
        }
        return (centres[clusters - 2] + centres[clusters - 1]) / 2;
    }

    private static double[] Sorted(SaliencyMap map)
    {
        var sorted = new double[map.Values.Length];
        for (var i = 0; i < sorted.Length; i++) sorted[i] = map.Values[i];
        Array.Sort(sorted);
        return sorted;
    }

    private static double QuantileOfSorted(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /// <summary>How many sorted values are ≤ <paramref name="limit"/>.</summary>
    private static int CountAtMost(double[] sorted, double limit)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (sorted[middle] <= limit) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
