namespace Molyneux.Bench;

internal static class Statistics
{
    public static double Median(IReadOnlyList<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Seconds, the median of <paramref name="repeats"/> timed runs after one warm-up run.</summary>
    public static double MedianSeconds(int repeats, Action work)
    {
        work();
        return Median(Enumerable.Range(0, repeats).Select(_ =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            work();
            return clock.Elapsed.TotalSeconds;
        }).ToList());
    }

    /// <summary>The least-squares slope of y against x.</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        var (meanX, meanY) = (points.Average(p => p.X), points.Average(p => p.Y));
        return points.Sum(p => (p.X - meanX) * (p.Y - meanY)) / points.Sum(p => (p.X - meanX) * (p.X - meanX));
    }
}
