using Molyneux.KnowledgeTransfer;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The Gram prior of partial inversion (the authors' helpers/style.py form) against hand computations.</summary>
public sealed class FeatureStatisticsTests
{
    [Fact]
    public void The_Gram_distance_matches_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        // F = [[1, 2], [3, 4]] (2 tokens, 2 channels): FᵀF / 2 = [[5, 7], [7, 10]]; against the identity the squared
        // differences are 16, 49, 49, 81 (mean 48.75) and the identity's mean square is 0.5.
        var features = tensor(new double[] { 1, 2, 3, 4 }, [1, 2, 2]);
        Assert.Equal(new double[] { 5, 7, 7, 10 }, FeatureStatistics.GramMatrix(features).data<double>().ToArray());
        Assert.Equal(97.5, FeatureStatistics.GramDistance(features, eye(2, dtype: ScalarType.Float64)).item<double>(), 9);
    }

    [Fact]
    public void The_Gram_distance_gradient_matches_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        const int tokens = 5, channels = 3;
        var features = randn([1, tokens, channels], dtype: ScalarType.Float64, generator: generator).requires_grad_();
        var target = randn([channels, channels], dtype: ScalarType.Float64, generator: generator);
        target = target.matmul(target.t());
        FeatureStatistics.GramDistance(features, target).sum().backward();

        // D = Σ E² / (C² m), E = FᵀF/T − G_t symmetric, m = mean(G_t²): ∂D/∂F = 4 F E / (T C² m).
        var f = features.detach()[0];
        var error = f.t().matmul(f) / tokens - target;
        var expected = f.matmul(error) * (4.0 / (tokens * channels * channels * target.square().mean().item<double>()));
        var actual = features.grad![0];
        Assert.True(allclose(expected, actual, rtol: 1e-9, atol: 1e-12), $"expected {string.Join(", ", expected.data<double>().ToArray())}, got {string.Join(", ", actual.data<double>().ToArray())}");
    }

    [Fact]
    public void The_statistics_of_images_carry_their_pooled_Gram_matrix()
    {
        using var scope = NewDisposeScope();
        using var model = FineTuningFixture.LoadModelA();
        var pixels = model.ImageProcessor.Normalize(rand([2, 3, 32, 32], generator: new Generator(4)));
        using var statistics = FeatureStatistics.Compute(model.Model, pixels, 1);
        var features = model.Model.vision_model.ForwardToLayer(pixels, 1).detach();
        var tokens = features.flatten(0, 1);
        Assert.True(allclose(tokens.t().matmul(tokens) / tokens.shape[0], statistics.Gram!, rtol: 1e-4, atol: 1e-5));
        // The moments' average of per-image Grams equals the pooled one (every image has the same tokens).
        Assert.True(allclose(FeatureStatistics.GramMatrix(features).mean([0]), statistics.Gram!, rtol: 1e-4, atol: 1e-5));
    }
}
