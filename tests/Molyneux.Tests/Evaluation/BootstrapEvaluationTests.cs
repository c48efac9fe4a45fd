using Molyneux.Evaluation;

namespace Molyneux.Tests.Evaluation;

public sealed class BootstrapEvaluationTests
{
    [Fact]
    public void Resampling_stays_within_each_group_so_the_macro_mean_of_pure_groups_cannot_move()
    {
        // Micro-averaged these images would give 0.75 and a wide interval; per concept they are 1 and 0, whatever is drawn.
        IReadOnlyList<IReadOnlyList<double>> groups = [[1, 1, 1], [0]];
        Assert.Equal(0.5, Bootstrap.Mean(groups));
        Assert.Equal(new Interval(0.5, 0.5), Bootstrap.MacroMean(groups));
    }

    [Fact]
    public void The_interval_of_a_proportion_has_the_normal_approximations_width()
    {
        var values = Enumerable.Range(0, 400).Select(i => i % 2 == 0 ? 1.0 : 0.0).ToList();
        var interval = Bootstrap.MacroMean([values], seed: 1);
        // ±1.96·sqrt(0.25 / 400) = ±0.049.
        Assert.InRange(interval.Low, 0.44, 0.47);
        Assert.InRange(interval.High, 0.53, 0.56);
    }

    [Fact]
    public void Paired_differences_of_equal_outcomes_give_a_zero_width_interval_and_seeds_reproduce()
    {
        var outcomes = Enumerable.Range(0, 30).Select(i => i % 3 == 0 ? 1.0 : 0.0).ToList();
        var differences = outcomes.Select(value => value - value).ToList();
        Assert.Equal(new Interval(0, 0), Bootstrap.MacroMean([differences]));
        Assert.Equal(Bootstrap.MacroMean([outcomes], seed: 5), Bootstrap.MacroMean([outcomes], seed: 5));
        var empty = Bootstrap.MacroMean([[]]);
        Assert.True(double.IsNaN(empty.Low) && double.IsNaN(empty.High));
    }
}
