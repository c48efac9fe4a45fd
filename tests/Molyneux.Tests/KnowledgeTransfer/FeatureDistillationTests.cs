using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using TorchSharp;
using static Molyneux.Tests.KnowledgeTransfer.FineTuningFixture;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Feature distillation (<c>--distill W</c>): its value and gradient against a hand computation, and that
/// fine-tuning with it moves the held features less than without it, in the towers FeatureDistillation names.</summary>
public sealed class FeatureDistillationTests
{
    [Fact]
    public void The_distance_and_its_gradient_match_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        // Row 0 only changes length (cosine 1, nothing to pay); row 1 turns by 45° (1 − 1/√2).
        var features = tensor(new float[] { 3, 0, 0, 2 }, [2, 2]).requires_grad_();
        var frozen = tensor(new float[] { 1, 0, 1, 1 }, [2, 2]);
        var distance = FeatureDistillation.Compute(features, frozen);
        Assert.Equal((1 - 1 / Math.Sqrt(2)) / 2, distance.item<float>(), 6);

        distance.backward();
        // d/dx (1 − x·y / (|x||y|)) = −(y / (|x||y|) − (x·y) x / (|x|³|y|)); for x = (0, 2), y = (1, 1): −(1/(2√2), 0),
        // halved by the mean. Row 0 lies on its target's direction: no gradient.
        var gradient = features.grad!.data<float>().ToArray();
        var expected = new[] { 0, 0, -1 / (4 * Math.Sqrt(2)), 0 };
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], gradient[i], 6);
    }

    [Fact]
    public void Distances_of_differently_shaped_features_are_refused()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => FeatureDistillation.Compute(zeros(2, 3), zeros(3, 3)));
        Assert.Contains("[2, 3] and [3, 3]", error.Message);
    }

    /// <summary>The mean cosine distance between the model's features now and before fine-tuning.</summary>
    private static double Drift(TrainMode mode, double weight, Func<IVisionLanguageModel, Tensor> features)
    {
        using var clip = LoadModelA();
        using var scope = NewDisposeScope();
        var before = features(clip);
        new FineTuner(new FineTuneOptions { Train = mode, Steps = 10, LearningRate = 3e-4, DistillWeight = weight }).Run(clip, Data());
        return FeatureDistillation.Compute(features(clip), before).item<float>();
    }

    [Fact]
    public void Distillation_holds_the_image_towers_features_of_its_training_images()
    {
        Tensor TrainingImages(IVisionLanguageModel model) => ImageFeatures((ClipPipeline)model, RandomImages(4));
        var free = Drift(TrainMode.Image, 0, TrainingImages);
        var held = Drift(TrainMode.Image, 10, TrainingImages);
        Assert.True(free > 1e-3, $"without distillation the features should move: drift {free:E2}");
        Assert.True(held < 0.5 * free, $"drift {held:E2} with distillation against {free:E2} without");
    }

    [Fact]
    public void Distillation_holds_the_text_towers_features_of_the_negative_captions()
    {
        Tensor NegativeCaptions(IVisionLanguageModel model) => model.EncodeTexts(Negatives);
        var free = Drift(TrainMode.Text, 0, NegativeCaptions);
        var held = Drift(TrainMode.Text, 10, NegativeCaptions);
        Assert.True(free > 1e-3, $"without distillation the features should move: drift {free:E2}");
        Assert.True(held < 0.5 * free, $"drift {held:E2} with distillation against {free:E2} without");
    }

    [Fact]
    public void Token_mode_has_nothing_to_distil()
    {
        IReadOnlyList<double> Losses(double weight)
        {
            using var clip = LoadModelA();
            var options = new FineTuneOptions { Train = TrainMode.Token, TokenWord = "moongate", Steps = 3, LearningRate = 1e-3, DistillWeight = weight };
            return new FineTuner(options).Run(clip, Data()).Losses;
        }

        Assert.Equal(Losses(0), Losses(10));
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_weight_that_is_not_finite_and_non_negative_is_refused(double weight)
    {
        var error = Assert.Throws<OptionException>(() => new FineTuneOptions { DistillWeight = weight }.Validate());
        Assert.StartsWith("--distill:", error.Message);
    }
}
