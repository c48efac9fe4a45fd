using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using static Molyneux.Tests.KnowledgeTransfer.FineTuningFixture;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class FineTunerTests
{
    private static FineTuneOptions TwentySteps(TrainMode mode) => new() { Train = mode, Steps = 20, LearningRate = 1e-4 };

    [Theory]
    [InlineData(TrainMode.Image)]
    [InlineData(TrainMode.Text)]
    [InlineData(TrainMode.Both)]
    public void FineTuning_lowers_the_loss_and_trains_only_the_chosen_towers(TrainMode mode)
    {
        using var clip = LoadModelA();
        var before = Snapshot(clip.Model);
        var progress = new List<FineTuneProgress>();

        var result = new FineTuner(TwentySteps(mode)) { Progress = new SynchronousProgress<FineTuneProgress>(progress.Add) }.Run(clip, Data());

        Assert.Equal(20, result.Losses.Count);
        Assert.True(result.Losses[^1] < 0.8 * result.Losses[0], $"loss went from {result.Losses[0]:F4} to {result.Losses[^1]:F4}");
        Assert.Equal(Enumerable.Range(1, 20), progress.Select(p => p.Step));
        Assert.Equal(result.Losses, progress.Select(p => p.Loss));
        var image = Changed(before, clip.Model, ImageTower);
        var text = Changed(before, clip.Model, TextTower);
        Assert.Equal(mode != TrainMode.Text, image.Count > 0);
        Assert.Equal(mode != TrainMode.Image, text.Count > 0);
        if (mode == TrainMode.Image) Assert.Empty(text);
        if (mode == TrainMode.Text) Assert.Empty(image);
        Assert.Empty(Changed(before, clip.Model, "logit_scale"));
        Assert.All(clip.Model.parameters(), parameter => Assert.True(parameter.requires_grad));
        Assert.Null(clip.Source);
    }

    [Fact]
    public void FineTuning_on_partial_inversions_features_lowers_the_loss_and_trains_only_the_layers_above()
    {
        using var clip = LoadModelA();
        using var statistics = FeatureStatistics.OfNoise(clip, layer: 1, count: 4, seed: 2);
        var inversion = new InversionOptions { Steps = 5, Partial = new PartialInversionOptions { Layer = 1, Statistics = statistics, Style = FeatureStyle.Gram } };
        using var targets = clip.EncodeTexts(Captions);
        using var features = Inversion.Run(clip, targets, inversion);
        var before = Snapshot(clip.Model);

        var result = new FineTuner(TwentySteps(TrainMode.Image)).Run(clip, new FineTuneData(features.Inverted, Captions, Negatives, FromLayer: 1));

        Assert.True(result.Losses[^1] < 0.8 * result.Losses[0], $"loss went from {result.Losses[0]:F4} to {result.Losses[^1]:F4}");
        Assert.Equal(clip.Model.ImageParametersFromLayer(1).Sum(parameter => parameter.numel()), result.TrainableParameters);
        Assert.NotEmpty(Changed(before, clip.Model, "vision_model.encoder.layers.1."));
        Assert.Empty(Changed(before, clip.Model, "vision_model.embeddings.", "vision_model.pre_layrnorm.", "vision_model.encoder.layers.0.", "text_model.", "text_projection."));
    }

    [Fact]
    public void FineTuning_is_reproducible_for_a_seed()
    {
        double[] Losses(int seed)
        {
            using var clip = LoadModelA();
            var data = new FineTuneData(RandomImages(4), Captions, Negatives);
            return [.. new FineTuner(new FineTuneOptions { BatchSize = 2, Epochs = 3, LearningRate = 1e-4, Seed = seed }).Run(clip, data).Losses];
        }

        var first = Losses(5);
        Assert.Equal(6, first.Length);
        Assert.Equal(first, Losses(5));
        Assert.NotEqual(first, Losses(6));
    }

    [Fact]
    public void FineTuning_clips_gradients_and_takes_adam()
    {
        using var clip = LoadModelA();
        var options = TwentySteps(TrainMode.Image) with { Optimizer = OptimizerKind.Adam, GradientClipNorm = 1.0 };
        var result = new FineTuner(options).Run(clip, Data());
        Assert.True(result.Losses[^1] < result.Losses[0]);
    }

    [Fact]
    public void FineTuning_rejects_inconsistent_input()
    {
        using var clip = LoadModelA();
        void Run(FineTuneOptions options, FineTuneData data) => new FineTuner(options).Run(clip, data);

        Assert.Throws<OptionException>(() => Run(new FineTuneOptions { Train = TrainMode.Text, Lora = new LoraOptions() }, Data()));
        Assert.Throws<OptionException>(() => Run(new FineTuneOptions { Train = TrainMode.Token }, Data()));
        Assert.Throws<OptionException>(() => Run(new FineTuneOptions { LearningRate = 0 }, Data()));
        Assert.Throws<ArgumentException>(() => Run(new FineTuneOptions(), new FineTuneData(RandomImages(3), Captions, Negatives)));
        Assert.Throws<ArgumentException>(() => Run(new FineTuneOptions(), new FineTuneData(RandomImages(4) * 2 - 1, Captions, Negatives)));
        Assert.Throws<ArgumentException>(() => Run(new FineTuneOptions(), new FineTuneData(TorchSharp.torch.rand(4, 3, 64, 64), Captions, Negatives)));
        Assert.Throws<OptionException>(() => Run(new FineTuneOptions { Train = TrainMode.Token, TokenWord = "okapi" }, Data()));
    }

    [Fact]
    public void FineTuning_result_saved_as_a_checkpoint_loads_back_with_identical_outputs()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = LoadModelA();
        new FineTuner(TwentySteps(TrainMode.Both)).Run(clip, Data());
        ClipCheckpoint.SaveHuggingFace(clip, folder.File("tuned"));

        using var reloaded = ClipCheckpoint.Load(folder.File("tuned"));
        var images = RandomImages(3, seed: 9);
        Assert.True(TensorAssert.Identical(ImageFeatures(clip, images), ImageFeatures(reloaded, images)));
        Assert.True(TensorAssert.Identical(clip.EncodeTexts(Captions), reloaded.EncodeTexts(Captions)));
        Assert.Equal(clip.Model.Config, reloaded.Model.Config);
    }
}

/// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>, so a test sees every report at once.</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
