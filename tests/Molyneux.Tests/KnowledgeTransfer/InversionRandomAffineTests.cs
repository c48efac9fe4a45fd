using Molyneux.KnowledgeTransfer;
using Molyneux.Training;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class InversionRandomAffineTests
{
    private static AffineParameters Parameters(double angle, double x, double y, double scale, int count = 1) =>
        new(full(count, angle), tensor(new[] { (float)x, (float)y }).expand(count, 2).contiguous(), full(count, scale));

    private static float MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData(8, 8)]
    [InlineData(6, 10)]
    public void Inversion_affine_identity_parameters_return_the_input(int height, int width)
    {
        using var scope = NewDisposeScope();
        var images = rand(3, 3, height, width);
        using var identity = Parameters(0, 0, 0, 1, count: 3);
        Assert.True(MaxDifference(RandomAffine.Warp(images, identity), images) <= 1e-5);
    }

    [Fact]
    public void Inversion_affine_rotation_by_90_degrees_turns_content_counter_clockwise()
    {
        using var scope = NewDisposeScope();
        var image = zeros(1, 1, 3, 3);
        image[0, 0, 0, 2] = 1;  // top right
        image[0, 0, 1, 2] = 2;  // middle right
        using var quarterTurn = Parameters(90, 0, 0, 1);
        var expected = zeros(1, 1, 3, 3);
        expected[0, 0, 0, 0] = 1;  // top right → top left
        expected[0, 0, 0, 1] = 2;  // middle right → top middle
        Assert.True(MaxDifference(RandomAffine.Warp(image, quarterTurn), expected) <= 1e-5);
    }

    [Fact]
    public void Inversion_affine_translation_shifts_and_repeats_the_border()
    {
        using var scope = NewDisposeScope();
        var image = rand(1, 2, 8, 8);
        using var rightTwo = Parameters(0, 0.25, 0, 1);  // 2 of 8 pixels to the right
        var shifted = RandomAffine.Warp(image, rightTwo);
        Assert.True(MaxDifference(shifted[.., .., .., 2..], image[.., .., .., ..6]) <= 1e-5);
        Assert.True(MaxDifference(shifted[.., .., .., ..2], image[.., .., .., ..1].expand(1, 2, 8, 2)) <= 1e-5);

        using var upOne = Parameters(0, 0, -0.125, 1);
        Assert.True(MaxDifference(RandomAffine.Warp(image, upOne)[.., .., ..7], image[.., .., 1..]) <= 1e-5);
    }

    [Fact]
    public void Inversion_affine_draws_respect_the_probability_and_ranges()
    {
        const int draws = 4000;
        var options = new RandomAffineOptions();
        using var generator = new Generator(7, CPU);
        using var parameters = new RandomAffine(options).Sample(draws, generator);
        var applied = parameters.Scale.ne(1).sum().item<long>() / (double)draws;
        Assert.InRange(applied, 0.46, 0.54);
        Assert.True(parameters.AngleDegrees.abs().max().item<float>() <= 30);
        Assert.True(parameters.Translation.abs().max().item<float>() <= 0.1f + 1e-6);
        Assert.InRange(parameters.Scale.min().item<float>(), 0.7f, 1.2f);
        Assert.InRange(parameters.Scale.max().item<float>(), 0.7f, 1.2f);

        using var never = new RandomAffine(options with { Probability = 0 }).Sample(draws, generator);
        Assert.Equal(0, never.Scale.ne(1).sum().item<long>() + never.AngleDegrees.ne(0).sum().item<long>());
        using var always = new RandomAffine(options with { Probability = 1 }).Sample(draws, generator);
        Assert.Equal(draws, always.Scale.ne(1).sum().item<long>());
    }

    [Fact]
    public void Inversion_affine_draws_are_reproducible_from_the_seed()
    {
        var affine = new RandomAffine(new RandomAffineOptions());
        using var first = new Generator(3, CPU);
        using var second = new Generator(3, CPU);
        using var images = rand(4, 3, 8, 8);
        using var a = affine.Apply(images, first);
        using var b = affine.Apply(images, second);
        Assert.True(TensorAssert.Identical(a, b));
    }
}
