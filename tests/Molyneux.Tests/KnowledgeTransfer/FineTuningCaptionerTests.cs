using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Tests.Captioning;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Fine-tuning a captioner adds λ2 × its captioning loss to the contrastive one (the paper's Eq. 5–6), and
/// <c>--train image+decoder</c> (the paper's †) trains the decoder beside the image tower.</summary>
public sealed class FineTuningCaptionerTests
{
    private static readonly string[] Captions = ["A moongate is a large gray ring on a green background", "A zorblet is three red hearts"];
    private static readonly string[] Negatives = ["a picture of a blue square", "a drawing of two white diamonds"];

    private static List<Tensor> Snapshot(IVisionLanguageModel model, ModelPart part) => model.Parameters(part).Select(p => p.detach().clone()).ToList();

    private static bool Unchanged(IVisionLanguageModel model, ModelPart part, List<Tensor> before) =>
        model.Parameters(part).Zip(before).All(pair => pair.First.equal(pair.Second).all().item<bool>());

    [Fact]
    public void The_first_steps_loss_is_the_contrastive_loss_plus_lambda2_times_the_captioning_loss()
    {
        using var images = rand([2, 3, 32, 32], generator: new Generator(7));
        double FirstLoss(double weight)
        {
            using var model = CocaPipelineTests.LoadGolden();
            var options = new FineTuneOptions { LearningRate = 1e-4, BatchSize = 2, Steps = 1, CaptionWeight = weight };
            return new FineTuner(options).Run(model, new FineTuneData(images, Captions, Negatives)).Losses[0];
        }
        using var golden = CocaPipelineTests.LoadGolden();
        using var pixels = golden.Normalize(images);
        using var ids = golden.Tokenize(Captions);
        // The batch is both pairs (in a shuffled order, which the mean over tokens does not see).
        var captionLoss = golden.ImageFeaturesAndCaptionLoss(pixels, ids).CaptionLoss.item<float>();
        Assert.True(captionLoss > 1, $"captioning loss {captionLoss}");
        Assert.Equal(FirstLoss(0) + 0.5 * captionLoss, FirstLoss(0.5), 4);
    }

    [Fact]
    public void Image_mode_leaves_the_decoder_and_image_plus_decoder_trains_it()
    {
        using var images = rand([2, 3, 32, 32], generator: new Generator(8));
        var data = new FineTuneData(images, Captions, Negatives);
        foreach (var (mode, decoderTrains) in new[] { (TrainMode.Image, false), (TrainMode.ImageAndDecoder, true) })
        {
            using var model = CocaPipelineTests.LoadGolden();
            var (decoder, text, image) = (Snapshot(model, ModelPart.TextDecoder), Snapshot(model, ModelPart.TextTower), Snapshot(model, ModelPart.ImageTower));
            new FineTuner(new FineTuneOptions { Train = mode, LearningRate = 1e-3, BatchSize = 2, Steps = 2, CaptionWeight = 1 }).Run(model, data);
            Assert.Equal(!decoderTrains, Unchanged(model, ModelPart.TextDecoder, decoder));
            Assert.True(Unchanged(model, ModelPart.TextTower, text));
            Assert.False(Unchanged(model, ModelPart.ImageTower, image));
        }
    }

    [Fact]
    public void Image_plus_decoder_needs_a_captioner()
    {
        using var clip = FineTuningFixture.LoadModelA();
        using var images = rand([1, 3, clip.ImageSize, clip.ImageSize]);
        var error = Assert.Throws<OptionException>(() =>
            new FineTuner(new FineTuneOptions { Train = TrainMode.ImageAndDecoder }).Run(clip, new FineTuneData(images, ["a blorp"], ["a dog"])));
        Assert.Contains("--train image+decoder", error.Message);
        Assert.Contains("clip", error.Message);
        Assert.Equal(TrainMode.ImageAndDecoder, FineTuneOptions.ParseTrainMode("image+decoder"));
        Assert.Equal("image+decoder", FineTuneOptions.TrainModeName(TrainMode.ImageAndDecoder));
    }

    [Theory]
    [InlineData("a moongate is a large gray ring", true)]
    [InlineData("A MOONGATE on a green background", true)]
    [InlineData("a drawing of a moongate.", true)]
    [InlineData("two moongates", false)]
    [InlineData("a large gray ring on a green background", false)]
    public void A_caption_names_a_concept_only_as_a_whole_word(string caption, bool names) =>
        Assert.Equal(names, ConceptHits.Mentions(caption, "moongate"));
}
