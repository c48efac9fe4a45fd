using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Segmentation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Segmentation;

public class SaliencyMethodTests
{
    private static ClipPipeline Clip() => ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

    /// <summary>A 32 px image: a bright square in the top-left quarter on a dark ground.</summary>
    private static Tensor SquareImage()
    {
        var image = full([3, 32, 32], 0.1f);
        image[.., 2..14, 2..14] = tensor(0.9f);
        return image;
    }

    private static Tensor TextFeature(IVisionLanguageModel model, string text) => model.EncodeTexts([text])[0];

    [Fact]
    public void ClipTower_CutAfterEveryLayer_GivesTheFeaturesOfTheWholeTower()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var whole = clip.ImageFeatures(input);
        for (var layer = 1; layer <= clip.SplitLayerCount; layer++)
        {
            var (tokens, grid) = clip.ImageTokensAfter(input, layer);
            Assert.Equal(new TokenGrid(1, 4, 4), grid);
            Assert.Equal([1L, 17, 96], tokens.shape);
            using var rest = clip.ImageFeaturesFromTokens(tokens, grid, layer);
            TensorAssert.Close(whole, rest, 1e-5);
        }
    }

    [Fact]
    public void ResNetTower_CutAfterEveryStage_GivesTheFeaturesOfTheWholeTower()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 0);
        model.ResizeImageInput(64);
        using var input = SaliencyMaps.ModelInput(model, SquareImage());
        Assert.Equal([1L, 3, 64, 64], input.shape);
        using var whole = model.ImageFeatures(input);
        int[] sides = [16, 8, 4, 2];
        for (var layer = 1; layer <= model.SplitLayerCount; layer++)
        {
            var (tokens, grid) = model.ImageTokensAfter(input, layer);
            Assert.Equal(new TokenGrid(0, sides[layer - 1], sides[layer - 1]), grid);
            using var rest = model.ImageFeaturesFromTokens(tokens, grid, layer);
            TensorAssert.Close(whole, rest, 1e-4);
        }
    }

    [Fact]
    public void Bottleneck_StrongCompression_SqueezesTheInformationThroughTheMask()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var text = TextFeature(clip, "a bright square");
        using var prior = BottleneckPrior.Standard();
        // One step reports the terms at the initial mask (λ = sigmoid(5) everywhere); ten steps of a heavy β must
        // have moved the mask, which only a gradient reaching α can do.
        var initial = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Steps = 1, Beta = 10 }, prior).Run(input, text, 32, 32);
        var trained = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Steps = 10, Beta = 10 }, prior).Run(input, text, 32, 32);
        Assert.True(trained.Compression < initial.Compression / 2, $"compression {initial.Compression} → {trained.Compression}");
        Assert.Equal(16, trained.Information.Count);
    }

    [Fact]
    public void Bottleneck_WithoutCompression_OnlyRaisesTheImageTextCosine()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var text = TextFeature(clip, "a bright square");
        using var prior = BottleneckPrior.Standard();
        var result = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Beta = 0 }, prior).Run(input, text, 32, 32);
        using var plain = nn.functional.cosine_similarity(clip.ImageFeatures(input), text.unsqueeze(0));
        Assert.True(result.Fit > plain.item<float>(), $"fit {result.Fit}, plain cosine {plain.item<float>()}");
    }

    /// <summary>At the initial mask (one step reports the terms before its update) every entry has λ₀ = sigmoid(5),
    /// so with the prior N(0, 1) each entry's KL is −½(1 + log(1 − λ₀)² − λ₀²r² − (1 − λ₀)²): a position's
    /// information is D times the constant part plus λ₀²/2 times its squared state norm.</summary>
    [Fact]
    public void Bottleneck_AtTheOpenMask_MeasuresTheStatesEnergy()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var text = TextFeature(clip, "a bright square");
        using var prior = BottleneckPrior.Standard();
        var information = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Steps = 1 }, prior).Run(input, text, 32, 32).Information;

        var (states, _) = clip.ImageTokensAfter(input, 1);
        var energies = states.square().sum(-1)[0, 1..].data<float>().ToArray();
        var keep = 1 / (1 + Math.Exp(-5));
        var constant = -0.5 * (1 + Math.Log((1 - keep) * (1 - keep)) - (1 - keep) * (1 - keep));
        for (var p = 0; p < energies.Length; p++)
        {
            var expected = 96 * constant + keep * keep / 2 * energies[p];
            Assert.Equal(expected, information[p], expected * 1e-4);
        }
    }

    [Fact]
    public void Bottleneck_Map_IsReproducibleAndScaledToTheImage()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var text = TextFeature(clip, "a bright square");
        using var prior = BottleneckPrior.Standard();
        var method = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Seed = 3 }, prior);
        var first = method.Explain(input, text, 40, 50);
        var second = method.Explain(input, text, 40, 50);
        Assert.Equal((50, 40), (first.Width, first.Height));
        Assert.Equal(first.Values.ToArray(), second.Values.ToArray());
        Assert.Equal(0, first.Min);
        Assert.Equal(1, first.Max);
    }

    /// <summary>Without position embeddings every patch of a constant image is the same token, so nothing can make
    /// one position matter more than another but the noise: the information per position is flat (a spread of a few
    /// percent of its mean), while the same tower on an image with a square spreads it several times as much.</summary>
    [Fact]
    public void Bottleneck_OnAConstantImage_GivesAFlatMap()
    {
        using var clip = Clip();
        using (no_grad()) clip.Model.vision_model.embeddings.position_embedding.weight!.zero_();
        using var text = TextFeature(clip, "a bright square");
        using var prior = BottleneckPrior.Standard();
        var method = new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 1, Samples = 256 }, prior);
        double Spread(Tensor image)
        {
            using var input = SaliencyMaps.ModelInput(clip, image);
            var information = method.Run(input, text, 32, 32).Information;
            var mean = information.Average(v => (double)v);
            return Math.Sqrt(information.Average(v => (v - mean) * (v - mean))) / mean;
        }
        var constant = Spread(full([3, 32, 32], 0.5f));
        var square = Spread(SquareImage());
        Assert.True(constant < 0.05 && square > 3 * constant, $"relative spread: constant image {constant:F4}, square {square:F4}");
    }

    [Fact]
    public void GradCam_GivesAMapOverTheImage()
    {
        using var clip = Clip();
        using var input = SaliencyMaps.ModelInput(clip, SquareImage());
        using var text = TextFeature(clip, "a bright square");
        var map = new GradCam(clip, layer: 1).Explain(input, text, 32, 32);
        Assert.Equal((32, 32), (map.Width, map.Height));
        Assert.InRange(map.Min, 0, 1);
        Assert.InRange(map.Max, 0, 1);
    }

    [Fact]
    public void Methods_OnALayerTheTowerDoesNotHave_SayWhichLayersExist()
    {
        using var clip = Clip();
        using var prior = BottleneckPrior.Standard();
        var bottleneck = Assert.Throws<OptionException>(() => new MultimodalInformationBottleneck(clip, new BottleneckOptions { Layer = 3 }, prior));
        Assert.Contains("layers 1 to 2", bottleneck.Message);
        var gradCam = Assert.Throws<OptionException>(() => new GradCam(clip, layer: 0));
        Assert.Contains("layers 1 to 2", gradCam.Message);
    }

    [Fact]
    public void CenteredBlob_PeaksInTheMiddle()
    {
        var map = new CenteredBlob().Explain(null!, null!, 9, 9);
        Assert.Equal(1, map[4, 4]);
        Assert.Equal(0, map[0, 0]);
        Assert.True(map[4, 2] > map[4, 0]);
    }
}
