using Molyneux.KnowledgeTransfer;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The fine-tuning optimizers against two steps computed by hand: the authors' Adam adds the weight decay to
/// the gradient (coupled, L2), AdamW shrinks the weights apart from the gradient (decoupled).</summary>
public sealed class FineTuningOptimizerTests
{
    private static readonly double[] Start = [0.5, -1.0, 2.0], Slope = [1.0, -2.0, 0.5];
    private const double LearningRate = 0.1, WeightDecay = 0.2, Beta1 = 0.9, Beta2 = 0.98, Epsilon = 1e-6;

    /// <summary>Two steps on the loss Σ slope·p (gradient = slope), in double precision.</summary>
    private static double[] ByHand(bool coupled)
    {
        var p = (double[])Start.Clone();
        var (m, v) = (new double[3], new double[3]);
        for (var step = 1; step <= 2; step++)
        for (var i = 0; i < 3; i++)
        {
            var gradient = Slope[i] + (coupled ? WeightDecay * p[i] : 0);
            if (!coupled) p[i] *= 1 - LearningRate * WeightDecay;
            m[i] = Beta1 * m[i] + (1 - Beta1) * gradient;
            v[i] = Beta2 * v[i] + (1 - Beta2) * gradient * gradient;
            var (mHat, vHat) = (m[i] / (1 - Math.Pow(Beta1, step)), v[i] / (1 - Math.Pow(Beta2, step)));
            p[i] -= LearningRate * mHat / (Math.Sqrt(vHat) + Epsilon);
        }
        return p;
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, true)]
    [InlineData(OptimizerKind.AdamW, false)]
    public void Two_steps_match_the_hand_computation(OptimizerKind kind, bool coupled)
    {
        using var scope = NewDisposeScope();
        var parameter = new Parameter(tensor(Start, dtype: ScalarType.Float64));
        var slope = tensor(Slope, dtype: ScalarType.Float64);
        using var optimizer = FineTuner.CreateOptimizer(new FineTuneOptions { Optimizer = kind, LearningRate = LearningRate, WeightDecay = WeightDecay }, [parameter]);
        for (var step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            (parameter * slope).sum().backward();
            optimizer.step();
        }
        var expected = ByHand(coupled);
        var actual = parameter.detach().data<double>().ToArray();
        for (var i = 0; i < 3; i++) Assert.Equal(expected[i], actual[i], 10);
        // The two kinds differ, so the test tells them apart.
        Assert.NotEqual(ByHand(!coupled)[0], actual[0], 6);
    }

    [Fact]
    public void The_default_recipe_is_the_papers()
    {
        var defaults = new FineTuneOptions();
        Assert.Equal((TrainMode.Image, OptimizerKind.Adam, FineTuneLoss.Paper, 0.2, 4, 1),
            (defaults.Train, defaults.Optimizer, defaults.Loss, defaults.WeightDecay, defaults.BatchSize, defaults.Epochs));
    }
}
