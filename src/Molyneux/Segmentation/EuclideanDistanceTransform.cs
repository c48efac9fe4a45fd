namespace Molyneux.Segmentation;

/// <summary>Exact squared Euclidean distance from every cell of a grid to the nearest marked cell, by Felzenszwalb and
/// Huttenlocher's separable lower envelope of parabolas (2012): a pass along each column, then one along each row,
/// linear in the cell count. The distances are exact (integers held in doubles), as scipy's distance_transform_edt
/// that the NSD reference uses.</summary>
internal static class EuclideanDistanceTransform
{
    /// <summary>Row-major squared distances to the nearest true cell of <paramref name="marked"/>; infinity everywhere
    /// when no cell is marked.</summary>
    public static double[] SquaredDistances(bool[] marked, int width, int height)
    {
        if (marked.Length != width * height)
            throw new ArgumentException($"a {width}×{height} grid has {width * height} cells, got {marked.Length}", nameof(marked));
        var distances = new double[marked.Length];
        for (var i = 0; i < marked.Length; i++) distances[i] = marked[i] ? 0 : double.PositiveInfinity;

        var longest = Math.Max(width, height);
        var line = new double[longest];
        var result = new double[longest];
        var sites = new int[longest];
        var bounds = new double[longest + 1];

        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++) line[y] = distances[y * width + x];
            Transform(line, height, result, sites, bounds);
            for (var y = 0; y < height; y++) distances[y * width + x] = result[y];
        }
        for (var y = 0; y < height; y++)
        {
            Array.Copy(distances, y * width, line, 0, width);
            Transform(line, width, result, sites, bounds);
            Array.Copy(result, 0, distances, y * width, width);
        }
        return distances;
    }

    /// <summary>One dimension: result[q] = min over p of (q − p)² + f[p]. Infinite f[p] are no sites at all (rather
    /// than huge finite ones, whose differences would lose the exact integers).</summary>
    private static void Transform(double[] f, int n, double[] result, int[] sites, double[] bounds)
    {
        var count = 0;
        for (var q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            double start = double.NegativeInfinity;
            while (count > 0)
            {
                var p = sites[count - 1];
                start = (f[q] + (double)q * q - (f[p] + (double)p * p)) / (2.0 * (q - p));
                if (start > bounds[count - 1]) break;
                count--;
            }
            if (count == 0) start = double.NegativeInfinity;
            sites[count] = q;
            bounds[count] = start;
            count++;
        }
        if (count == 0)
        {
            Array.Fill(result, double.PositiveInfinity, 0, n);
            return;
        }
        var k = 0;
        for (var q = 0; q < n; q++)
        {
            while (k + 1 < count && bounds[k + 1] < q) k++;
            var p = sites[k];
            result[q] = (double)(q - p) * (q - p) + f[p];
        }
    }
}
