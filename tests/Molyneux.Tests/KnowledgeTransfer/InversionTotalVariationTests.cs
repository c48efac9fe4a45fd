using Molyneux.KnowledgeTransfer;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Total variation against a hand computation on one 3×3 image of two channels (the second flat).</summary>
public sealed class InversionTotalVariationTests
{
    private static readonly float[,] Channel0 = { { 0, 1, 0 }, { 0, 0, 2 }, { 1, 0, 0 } };

    /// <summary>The four neighbour offsets (rows, columns) of Kazemi's form: each pairs pixel (i + di, j + dj) with
    /// (i, j), except the anti-diagonal, which pairs (i + 1, j) with (i, j + 1).</summary>
    private static readonly (int PlusRow, int PlusColumn, int MinusRow, int MinusColumn)[] KazemiPairs =
        [(0, 1, 0, 0), (1, 0, 0, 0), (1, 1, 0, 0), (1, 0, 0, 1)];

    private static readonly (int PlusRow, int PlusColumn, int MinusRow, int MinusColumn)[] AnisotropicPairs = [(0, 1, 0, 0), (1, 0, 0, 0)];

    private static Tensor Image()
    {
        var image = zeros(1, 2, 3, 3);
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 3; j++)
            image[0, 0, i, j] = Channel0[i, j];
        return image;
    }

    [Fact]
    public void Inversion_total_variation_Kazemi_value_matches_hand_computation()
    {
        // Channel 0 by hand: horizontal differences 1, −1, 0, 2, −1, 0 (Σ² = 7); vertical 0, −1, 2, 1, 0, −2 (10);
        // diagonal 0, 1, 0, 0 (1); anti-diagonal −1, 0, 1, −2 (6). Channel 1 is flat (0). Mean over the channels.
        using var image = Image();
        using var value = TotalVariation.PerImage(image);
        var expected = (Math.Sqrt(7) + Math.Sqrt(10) + 1 + Math.Sqrt(6)) / 2;
        Assert.Equal([1L], value.shape);
        Assert.Equal(expected, value.item<float>(), 5);
    }

    [Fact]
    public void Inversion_total_variation_anisotropic_value_matches_hand_computation()
    {
        // |horizontal| sums to 5, |vertical| to 6.
        using var image = Image();
        using var value = TotalVariation.PerImage(image, TotalVariationForm.Anisotropic);
        Assert.Equal(11f, value.item<float>(), 5);
    }

    [Theory]
    [InlineData(TotalVariationForm.Kazemi)]
    [InlineData(TotalVariationForm.Anisotropic)]
    public void Inversion_total_variation_gradient_matches_hand_computation(TotalVariationForm form)
    {
        using var image = Image().requires_grad_(true);
        using var value = TotalVariation.PerImage(image, form);
        value.sum().backward();
        using var gradient = image.grad!;

        // d‖d‖/dx = d/‖d‖ per pair (Kazemi, halved by the mean over two channels); d|d|/dx = sign(d) (anisotropic).
        var expected = new double[3, 3];
        foreach (var (plusRow, plusColumn, minusRow, minusColumn) in form == TotalVariationForm.Kazemi ? KazemiPairs : AnisotropicPairs)
        {
            var differences = new List<(int I, int J, double D)>();
            for (var i = 0; i + Math.Max(plusRow, minusRow) < 3; i++)
            for (var j = 0; j + Math.Max(plusColumn, minusColumn) < 3; j++)
                differences.Add((i, j, Channel0[i + plusRow, j + plusColumn] - Channel0[i + minusRow, j + minusColumn]));
            var norm = Math.Sqrt(differences.Sum(d => d.D * d.D));
            foreach (var (i, j, d) in differences)
            {
                var slope = form == TotalVariationForm.Kazemi ? d / norm / 2 : Math.Sign(d);
                expected[i + plusRow, j + plusColumn] += slope;
                expected[i + minusRow, j + minusColumn] -= slope;
            }
        }
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 3; j++)
        {
            Assert.Equal(expected[i, j], gradient[0, 0, i, j].item<float>(), 5);
            Assert.Equal(0f, gradient[0, 1, i, j].item<float>());  // a flat channel: zero, not NaN
        }
    }
}
