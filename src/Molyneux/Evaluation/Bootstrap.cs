namespace Molyneux.Evaluation;

/// <summary>A confidence interval [Low, High] around a statistic.</summary>
public readonly record struct Interval(double Low, double High);

/// <summary>Percentile bootstrap intervals (Efron and Tibshirani, 1993) for accuracies measured on few images. The
/// statistic is a macro mean: the mean over groups (concepts) of each group's mean over its images; images are
/// resampled with replacement within their group, so every resample keeps each group's size. A single group is
/// the plain mean (a reference set's top-1). For a paired difference (the gain of a model over another on the same
/// images) pass per-image differences: the same images are drawn for both, which is what makes the interval of a
/// gain narrower than the two accuracies' intervals suggest.</summary>
public static class Bootstrap
{
    public const int DefaultResamples = 2000;

    /// <summary>The central <paramref name="level"/> percentile interval of the macro mean. Empty groups are
    /// skipped; with no values at all the interval is [NaN, NaN]. Seeded: the same inputs give the same interval.</summary>
    public static Interval MacroMean(IReadOnlyList<IReadOnlyList<double>> groups, int resamples = DefaultResamples, int seed = 0, double level = 0.95)
    {
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "at least one resample");
        if (level is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(level), level, "a level in (0, 1)");
        var nonEmpty = groups.Where(group => group.Count > 0).ToList();
        if (nonEmpty.Count == 0) return new Interval(double.NaN, double.NaN);
        var random = new Random(seed);
        var statistics = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            var sum = 0.0;
            foreach (var group in nonEmpty)
            {
                var groupSum = 0.0;
                for (var i = 0; i < group.Count; i++) groupSum += group[random.Next(group.Count)];
                sum += groupSum / group.Count;
            }
            statistics[r] = sum / nonEmpty.Count;
        }
        Array.Sort(statistics);
        var tail = (1 - level) / 2;
        return new Interval(Quantile(statistics, tail), Quantile(statistics, 1 - tail));
    }

    /// <summary>The macro mean itself, over the non-empty groups.</summary>
    public static double Mean(IReadOnlyList<IReadOnlyList<double>> groups)
    {
        var nonEmpty = groups.Where(group => group.Count > 0).ToList();
        return nonEmpty.Count == 0 ? double.NaN : nonEmpty.Average(group => group.Average());
    }

    /// <summary>Linear interpolation between order statistics (numpy's default percentile).</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
