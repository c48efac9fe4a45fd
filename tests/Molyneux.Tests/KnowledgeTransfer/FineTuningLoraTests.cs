using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Training;
using TorchSharp;
using static Molyneux.Tests.KnowledgeTransfer.FineTuningFixture;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class FineTuningLoraTests
{
    /// <summary>A few optimiser steps on the adapters alone, the model's own parameters frozen.</summary>
    private static void TrainAdapters(ClipPipeline clip, Lora lora, int steps)
    {
        foreach (var parameter in clip.Model.parameters()) parameter.requires_grad = false;
        using var optimizer = optim.AdamW(lora.Parameters, lr: 1e-2);
        using var textFeatures = clip.EncodeTexts([.. Captions, .. Negatives]);
        using var pixels = clip.ImageProcessor.Normalize(RandomImages(4));
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var loss = ContrastiveLoss.Compute(clip.Model.GetImageFeatures(pixels), textFeatures, clip.Model.logit_scale);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }

    [Fact]
    public void FineTuning_lora_starts_as_the_original_model_and_trains_only_its_adapters_until_merged()
    {
        using var clip = LoadModelA();
        var before = Snapshot(clip.Model);
        var images = RandomImages(3, seed: 4);
        var original = ImageFeatures(clip, images);
        using var lora = Lora.Attach(clip.Model, new LoraOptions(Rank: 4, Alpha: 8), seed: 0);

        Assert.Equal(2 * 6, lora.LayerNames.Count);
        Assert.Equal(2 * 6 * 2, lora.Parameters.Count);
        Assert.True(TensorAssert.Identical(original, ImageFeatures(clip, images)));

        TrainAdapters(clip, lora, steps: 3);

        Assert.Empty(Changed(before, clip.Model));
        // Some B ([out, r], zero at first) has moved.
        Assert.Contains(lora.Parameters, parameter => parameter.shape[1] == 4 && parameter.abs().max().item<float>() > 0);
        var unmerged = ImageFeatures(clip, images);
        Assert.False(TensorAssert.Identical(original, unmerged));

        lora.Merge();

        var merged = ImageFeatures(clip, images);
        Assert.True((merged - unmerged).abs().max().item<float>() <= 1e-5, "merged and unmerged features differ");
        Assert.Equal(before.Keys.Order(), clip.Model.state_dict().Keys.Order());
        Assert.Equal(lora.LayerNames.Select(name => name + ".weight").Order(), Changed(before, clip.Model).Order());
    }

    [Fact]
    public void FineTuning_with_lora_ends_merged_into_the_image_towers_projections()
    {
        using var clip = LoadModelA();
        var before = Snapshot(clip.Model);
        var options = new FineTuneOptions { Steps = 20, LearningRate = 1e-3, Lora = new LoraOptions() };

        var result = new FineTuner(options).Run(clip, Data());

        Assert.True(result.Losses[^1] < 0.8 * result.Losses[0], $"loss went from {result.Losses[0]:F4} to {result.Losses[^1]:F4}");
        // Per layer of the width-96 image tower: A [8, in] and B [out, 8] for four 96→96 projections, fc1 96→384, fc2 384→96.
        Assert.Equal(2 * (4 * 8 * (96 + 96) + 2 * 8 * (96 + 384)), result.TrainableParameters);
        var changed = Changed(before, clip.Model);
        Assert.NotEmpty(changed);
        Assert.All(changed, name => Assert.Matches(@"^vision_model\.encoder\.layers\.\d\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])\.weight$", name));
        Assert.Equal(before.Keys.Order(), clip.Model.state_dict().Keys.Order());
    }
}
