using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Knowledge Transfer works on the model interface, so a dual encoder (ResNet18 + MiniLM) is inverted and
/// fine-tuned exactly as a CLIP is; what needs CLIP's insides is refused by name.</summary>
public sealed class DualEncoderKnowledgeTransferTests
{
    [Fact]
    public void Inversion_through_a_dual_encoder_raises_the_cosine_to_the_description()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 64, seed: 0);
        var options = new InversionOptions { Steps = 6, ImagesPerConcept = 1, AugmentedCopies = 1, LearningRate = 0.05, Seed = 1 };
        using var result = Inversion.Run(model, ["a red circle on a white background"], options);
        Assert.Equal([1L, 3, 224, 224], result.Inverted.shape);
        Assert.True(result.LossCurve[^1].Cosine > result.LossCurve[0].Cosine,
            $"cosine {result.LossCurve[0].Cosine:F4} → {result.LossCurve[^1].Cosine:F4}");
    }

    [Fact]
    public void Fine_tuning_the_image_tower_changes_the_image_side_only()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 64, seed: 0);
        var text = model.Parameters(ModelPart.TextTower).Concat(model.Parameters(ModelPart.TextProjection)).Select(p => p.detach().clone()).ToList();
        var image = model.Parameters(ModelPart.ImageProjection).Select(p => p.detach().clone()).ToList();
        var identity = model.Identity;
        using var images = rand([2, 3, 224, 224], generator: new Generator(5));
        var data = new FineTuneData(images, ["A blorp is a red circle", "A blorp is a red circle"], ["a dog", "a cat", "a house"]);
        var result = new FineTuner(new FineTuneOptions { Train = TrainMode.Image, LearningRate = 1e-3, BatchSize = 2, Steps = 2 }).Run(model, data);

        Assert.Equal(2, result.Losses.Count);
        Assert.All(result.Losses, loss => Assert.True(double.IsFinite(loss)));
        Assert.All(model.Parameters(ModelPart.TextTower).Concat(model.Parameters(ModelPart.TextProjection)).Zip(text),
            pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
        Assert.Contains(model.Parameters(ModelPart.ImageProjection).Zip(image), pair => !pair.First.equal(pair.Second).all().item<bool>());
        Assert.NotEqual(identity, model.Identity);
        Assert.Null(model.Source);
    }

    [Fact]
    public void Token_mode_and_partial_inversion_need_a_CLIP()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 0);
        using var images = rand([1, 3, 224, 224]);
        var token = Assert.Throws<OptionException>(() => new FineTuner(new FineTuneOptions { Train = TrainMode.Token, TokenWord = "blorp" })
            .Run(model, new FineTuneData(images, ["a blorp"], ["a dog"])));
        Assert.Contains("--train token needs a CLIP model", token.Message);
        Assert.Contains(DualEncoderConfig.ModelType, token.Message);
        using var mean = zeros(8);
        var partial = new InversionOptions { Steps = 1, Partial = new PartialInversionOptions { Layer = 1, Statistics = new FeatureStatistics(mean, mean) } };
        var error = Assert.Throws<OptionException>(() => Inversion.Run(model, ["a circle"], partial));
        Assert.Contains("partial inversion", error.Message);
    }
}
