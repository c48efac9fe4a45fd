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

    [Fact]
    public void Replay_adds_lambda2_times_the_captioning_loss_of_the_next_ordinary_pairs_each_step()
    {
        using var images = rand([2, 3, 32, 32], generator: new Generator(7));
        using var replayImages = rand([3, 3, 32, 32], generator: new Generator(9));
        string[] ordinary = ["a picture of a blue square", "two white diamonds", "a small red circle"];
        using var replay = new CaptionReplay(replayImages, ordinary);
        var options = new FineTuneOptions { LearningRate = 1e-4, BatchSize = 2, Steps = 1, CaptionWeight = 0.5 };
        double FirstLoss(CaptionReplay? replayed)
        {
            using var model = CocaPipelineTests.LoadGolden();
            return new FineTuner(options).Run(model, new FineTuneData(images, Captions, Negatives) { Replay = replayed }).Losses[0];
        }
        using var golden = CocaPipelineTests.LoadGolden();
        // Step 0 replays rows 0 and 1 (as many as the step's pairs); step 1 rows 2 and 0.
        Assert.Equal([0L, 1L], replay.Rows(0, 2));
        Assert.Equal([2L, 0L], replay.Rows(1, 2));
        using var pixels = golden.Normalize(replayImages[..2]);
        using var ids = golden.Tokenize(ordinary[..2]);
        var replayLoss = golden.ImageFeaturesAndCaptionLoss(pixels, ids).CaptionLoss.item<float>();
        Assert.Equal(FirstLoss(null) + 0.5 * replayLoss, FirstLoss(replay), 4);
    }

    [Fact]
    public void Replay_keeps_the_ordinary_captions_the_concept_pairs_would_pull_away()
    {
        using var images = rand([2, 3, 32, 32], generator: new Generator(7));
        using var replayImages = rand([4, 3, 32, 32], generator: new Generator(9));
        string[] ordinary = ["a picture of a blue square", "two white diamonds", "a small red circle", "a green star on black"];
        using var replay = new CaptionReplay(replayImages, ordinary);
        double OrdinaryLossAfter(CaptionReplay? replayed)
        {
            using var model = CocaPipelineTests.LoadGolden();
            new FineTuner(new FineTuneOptions { Train = TrainMode.ImageAndDecoder, LearningRate = 3e-3, BatchSize = 2, Steps = 20, CaptionWeight = 2 })
                .Run(model, new FineTuneData(images, Captions, Negatives) { Replay = replayed });
            using var _ = no_grad();
            using var pixels = model.Normalize(replayImages);
            using var ids = model.Tokenize(ordinary);
            return model.ImageFeaturesAndCaptionLoss(pixels, ids).CaptionLoss.item<float>();
        }
        var (without, with) = (OrdinaryLossAfter(null), OrdinaryLossAfter(replay));
        Assert.True(with < without, $"ordinary captioning loss after fine-tuning: {with} with replay, {without} without");
    }

    [Fact]
    public void Replay_needs_a_captioner_and_a_captioning_loss()
    {
        using var clip = FineTuningFixture.LoadModelA();
        using var images = rand([1, 3, clip.ImageSize, clip.ImageSize]);
        using var replay = new CaptionReplay(rand([1, 3, clip.ImageSize, clip.ImageSize]), ["a dog"]);
        var onClip = Assert.Throws<OptionException>(() => new FineTuner(new FineTuneOptions()).Run(clip, new FineTuneData(images, ["a blorp"], ["a dog"]) { Replay = replay }));
        Assert.StartsWith("--replay: replays ordinary captions through a captioner's decoder; this model is a clip", onClip.Message);
        using var coca = CocaPipelineTests.LoadGolden();
        using var small = rand([1, 3, 32, 32]);
        using var cocaReplay = new CaptionReplay(rand([1, 3, 32, 32]), ["a dog"]);
        var weightless = Assert.Throws<OptionException>(() =>
            new FineTuner(new FineTuneOptions { CaptionWeight = 0 }).Run(coca, new FineTuneData(small, ["a blorp"], ["a dog"]) { Replay = cocaReplay }));
        Assert.Contains("a --caption-weight of 0 turns off", weightless.Message);
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
