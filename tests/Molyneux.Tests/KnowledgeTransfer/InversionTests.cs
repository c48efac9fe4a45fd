using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The golden random CLIP (model_a: 32 px, patch 8, two layers per tower), loaded once for these tests.</summary>
public sealed class GoldenModelA : IDisposable
{
    public ClipPipeline Clip { get; } = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

    public void Dispose() => Clip.Dispose();
}

/// <summary>Mechanics of pixel inversion (Eq. 3) on a random tiny model: the loop must raise each image's cosine to
/// its own target, keep pixels in [0, 1], be reproducible, and resume exactly.</summary>
public sealed class InversionTests(GoldenModelA golden) : IClassFixture<GoldenModelA>
{
    private static readonly string[] Descriptions = ["a red apple on a wooden table", "a blue sports car on a mountain road"];

    private static readonly InversionOptions Small = new() { Steps = 30, ImagesPerConcept = 1, AugmentedCopies = 4, Seed = 11 };

    private static double Mean(IEnumerable<double> values) => values.Average();

    [Fact]
    public void Inversion_raises_each_images_cosine_to_its_own_target_and_keeps_pixels_in_range()
    {
        using var result = Inversion.Run(golden.Clip, Descriptions, Small);
        var curve = result.LossCurve;
        Assert.Equal(Enumerable.Range(1, 30), curve.Select(point => point.Step));
        var (firstLoss, lastLoss) = (Mean(curve.Take(5).Select(p => p.Loss)), Mean(curve.TakeLast(5).Select(p => p.Loss)));
        var (firstCosine, lastCosine) = (Mean(curve.Take(5).Select(p => p.Cosine)), Mean(curve.TakeLast(5).Select(p => p.Cosine)));
        Assert.True(lastLoss < firstLoss - 0.1, $"loss {firstLoss:F3} → {lastLoss:F3}");
        Assert.True(lastCosine > firstCosine + 0.1, $"cosine {firstCosine:F3} → {lastCosine:F3}");

        var images = result.Inverted;
        Assert.Equal([2L, 3, 32, 32], images.shape);
        Assert.True(images.min().item<float>() >= 0 && images.max().item<float>() <= 1);

        // Without augmentation, each image matches its own description better than the other one.
        using var scope = NewDisposeScope();
        var imageFeatures = nn.functional.normalize(golden.Clip.EncodePixels(golden.Clip.ImageProcessor.Normalize(images)), dim: -1);
        var textFeatures = nn.functional.normalize(golden.Clip.EncodeTexts(Descriptions), dim: -1);
        var cosines = imageFeatures.matmul(textFeatures.t()).data<float>().ToArray();
        var shown = $"image-text cosines [{string.Join(", ", cosines.Select(c => c.ToString("F3")))}]";
        Assert.True(cosines[0] > cosines[1], shown);
        Assert.True(cosines[3] > cosines[2], shown);
    }

    [Fact]
    public void Inversion_is_deterministic_given_the_seed_and_leaves_the_weights_untouched()
    {
        var options = Small with { Steps = 5 };
        var before = golden.Clip.Model.parameters().Select(p => p.requires_grad).ToList();
        using var first = Inversion.Run(golden.Clip, Descriptions, options);
        using var second = Inversion.Run(golden.Clip, Descriptions, options);
        using var otherSeed = Inversion.Run(golden.Clip, Descriptions, options with { Seed = 12 });
        Assert.True(TensorAssert.Identical(first.Inverted, second.Inverted));
        Assert.Equal(first.LossCurve, second.LossCurve);
        Assert.False(TensorAssert.Identical(first.Inverted, otherSeed.Inverted));
        Assert.Equal(before, golden.Clip.Model.parameters().Select(p => p.requires_grad));
        Assert.All(golden.Clip.Model.parameters(), p => Assert.True(p.grad is null));
    }

    [Fact]
    public void Inversion_progressive_resolution_resizes_and_restarts_the_learning_rate()
    {
        var options = Small with { Steps = 8, Resolutions = [new(0, 16), new(4, 32)] };
        var sizes = new List<int>();
        using var result = Inversion.Run(golden.Clip, Descriptions, options, progress: new Synchronous(p => sizes.Add(p.Size)));
        Assert.Equal([16, 16, 16, 16, 32, 32, 32, 32], sizes);
        Assert.Equal([2L, 3, 32, 32], result.Inverted.shape);
        var rates = result.LossCurve.Select(point => point.LearningRate).ToList();
        Assert.Equal(0.1, rates[0], 12);
        Assert.Equal(0.1, rates[4], 12);  // a new stage starts a new cosine cycle
        Assert.True(rates[3] < rates[2] && rates[2] < rates[1] && rates[1] < rates[0]);

        Assert.Throws<OptionException>(() => Inversion.Run(golden.Clip, Descriptions, options with { Resolutions = [new(0, 16)] }));
    }

    [Fact]
    public void Inversion_interrupted_and_resumed_equals_an_uninterrupted_run()
    {
        using var folder = new TestPaths.TempFolder();
        // The interruption falls in the first resolution stage and the resumed run crosses into the second.
        var options = Small with { Steps = 10, Resolutions = [new(0, 16), new(6, 32)], SaveStateEvery = 4, StatePath = folder.File("state.safetensors") };
        using var uninterrupted = Inversion.Run(golden.Clip, Descriptions, options with { SaveStateEvery = 0, StatePath = null });

        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Inversion.Run(golden.Clip, Descriptions, options,
            progress: new Synchronous(p => { if (p.Latest.Step == 5) cancellation.Cancel(); }), cancellationToken: cancellation.Token));

        using var state = InversionState.Load(options.StatePath);
        Assert.Equal(4, state.Step);
        using var resumed = Inversion.Run(golden.Clip, Descriptions, options, resumeFrom: state);
        Assert.True((resumed.Inverted - uninterrupted.Inverted).abs().max().item<float>() <= 1e-6);
        Assert.Equal(uninterrupted.LossCurve, resumed.LossCurve);

        Assert.Throws<OptionException>(() => Inversion.Run(golden.Clip, Descriptions, options with { Seed = 99 }, resumeFrom: state));
        Assert.Throws<OptionException>(() => Inversion.Run(golden.Clip, [.. Descriptions.Reverse()], options, resumeFrom: state));
    }

    [Fact]
    public void Inversion_result_saves_images_contact_sheet_and_loss_curve()
    {
        using var folder = new TestPaths.TempFolder();
        using var result = Inversion.Run(golden.Clip, Descriptions, Small with { Steps = 3, ImagesPerConcept = 2, AugmentedCopies = 1 });
        result.Save(folder.Path, imagesPerConcept: 2);

        for (var concept = 0; concept < 2; concept++)
        for (var image = 0; image < 2; image++)
        {
            using var saved = ImageDecoder.Load(folder.File(InversionResult.ImageFileName(concept, image)));
            Assert.True((saved - result.Inverted[concept * 2 + image]).abs().max().item<float>() <= 0.5f / 255 + 1e-6);
        }
        using var sheet = ImageDecoder.Load(folder.File(InversionResult.ContactSheetFile));
        Assert.Equal([3L, 2 * 34 + 2, 2 * 34 + 2], sheet.shape);  // two rows (concepts) of two 32-px images, 2-px gaps

        using var json = JsonDocument.Parse(File.ReadAllText(folder.File(InversionResult.LossCurveFile)));
        Assert.Equal("total_variation", json.RootElement.GetProperty("regularizer").GetString());
        var steps = json.RootElement.GetProperty("steps");
        Assert.Equal(3, steps.GetArrayLength());
        Assert.Equal(result.LossCurve[2].Loss, steps[2].GetProperty("loss").GetDouble());
    }

    /// <summary>Partial inversion (Eq. 4): features entering layer L, from L = 0 to the number of layers.</summary>
    [Theory]
    [InlineData(0, FeatureStyle.Moments)]
    [InlineData(1, FeatureStyle.Moments)]
    [InlineData(2, FeatureStyle.Moments)]
    [InlineData(1, FeatureStyle.Gram)]
    public void Partial_inversion_loss_decreases(int layer, FeatureStyle style)
    {
        var clip = golden.Clip;
        using var generator = new Generator(5, CPU);
        using var noise = rand([4, 3, 32, 32], generator: generator);
        using var pixels = clip.ImageProcessor.Normalize(noise);
        using var statistics = FeatureStatistics.Compute(clip.Model, pixels, layer);
        Assert.Equal([96L], statistics.Mean.shape);

        var options = Small with { Partial = new PartialInversionOptions { Layer = layer, Statistics = statistics, Style = style } };
        using var result = Inversion.Run(clip, Descriptions, options);
        Assert.Equal([2L, 17, 96], result.Inverted.shape);
        var curve = result.LossCurve;
        var (first, last) = (Mean(curve.Take(5).Select(p => p.Loss)), Mean(curve.TakeLast(5).Select(p => p.Loss)));
        Assert.True(last < first - 0.1, $"loss {first:F3} → {last:F3}");

        // The optimised features score as reported when run through the rest of the tower.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var pooled = clip.Model.vision_model.ForwardFromLayer(result.Inverted, layer).Pooled;
        var features = nn.functional.normalize(clip.Model.visual_projection.forward(pooled), dim: -1);
        var texts = nn.functional.normalize(clip.EncodeTexts(Descriptions), dim: -1);
        Assert.True((features * texts).sum(-1).mean().item<float>() > curve[0].Cosine);
    }

    /// <summary>Reports on the calling thread (System.Progress posts to the thread pool).</summary>
    private sealed class Synchronous(Action<InversionProgress> report) : IProgress<InversionProgress>
    {
        public void Report(InversionProgress value) => report(value);
    }
}
