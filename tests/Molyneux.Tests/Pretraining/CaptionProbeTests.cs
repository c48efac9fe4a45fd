using Molyneux.Captioning;
using Molyneux.Pretraining;
using Molyneux.Worlds;
using Xunit.Abstractions;

namespace Molyneux.Tests.Pretraining;

/// <summary>The held-out shapes captions a CoCa's pretraining is scored on: five references per scene, its own caption
/// first, all describing its attributes; a caption naming the right attributes scores far above one naming wrong ones.</summary>
public sealed class CaptionProbeTests(ITestOutputHelper output)
{
    [Fact]
    public void Shapes_references_describe_each_scene_and_reward_the_right_attributes()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 });
        var probe = ShapesPretrainingData.CaptionProbeOf("validation", world, count: 100, seed: 11);
        using var images = probe.Images;
        Assert.Equal([100, 3, 32, 32], images.shape);
        var scenes = world.Generate(100, 11);
        for (var i = 0; i < scenes.Count; i++)
        {
            Assert.Equal(5, probe.References[i].Count);
            Assert.Equal(scenes[i].Caption, probe.References[i][0]);
            var colour = ShapesCaptions.Word(scenes[i].Attributes.Color);
            // Every extra reference is a description (a concept's name is only ever the scene's own caption).
            Assert.All(probe.References[i].Skip(1), reference => Assert.Contains(colour, reference));
        }
        // The same references again from the same seed; other phrasings than the scene's own.
        Assert.Equal(probe.References, ShapesPretrainingData.CaptionProbeOf("again", world, count: 100, seed: 11).References);
        Assert.Contains(probe.References, references => references.Distinct().Count() > 1);

        // The canonical description of each scene's true attributes against one of another scene's.
        string Canonical(ShapesAttributes a) => ShapesCaptions.Describe(new ShapesSpec
        {
            Shape = a.Shape, Color = a.Color, Size = a.Size, Background = a.Background, Pattern = a.Pattern, Count = a.Count, Position = a.Position,
        }, CaptionChoices.Canonical);
        var right = CaptionMetrics.Compute(scenes.Select((scene, i) => new GeneratedCaption(Canonical(scene.Attributes), probe.References[i])).ToList());
        var wrong = CaptionMetrics.Compute(scenes.Select((scene, i) => new GeneratedCaption(Canonical(scenes[(i + 1) % scenes.Count].Attributes), probe.References[i])).ToList());
        output.WriteLine($"canonical captions: CIDEr-D {right.CiderD.Corpus:F3}, BLEU-4 {right.Bleu.Corpus[3]:F3}; another scene's: CIDEr-D {wrong.CiderD.Corpus:F3}");
        Assert.True(right.CiderD.Corpus > 1.5, $"CIDEr-D of the right attributes {right.CiderD.Corpus:F3}");
        Assert.True(wrong.CiderD.Corpus < right.CiderD.Corpus / 2, $"CIDEr-D of another scene's attributes {wrong.CiderD.Corpus:F3}");
    }

    [Fact]
    public void Accuracy_is_the_share_of_captions_the_probe_calls_right_and_absent_without_a_check()
    {
        using var coca = Tests.Captioning.CocaGoldenTests.LoadGolden();
        var captioner = new Captioner(coca);
        var size = coca.Config.Vision.ImageSize;
        using var images = TorchSharp.torch.rand([3, 3, size, size], generator: new TorchSharp.torch.Generator(5));
        var expected = captioner.CaptionPixels(captioner.ImageProcessor.Normalize(images), ["a", "b", "c"], captioner.Greedy).Select(caption => caption.Text).ToList();
        IReadOnlyList<IReadOnlyList<string>> references = [["noise"], ["noise"], ["noise"]];

        var judged = new CaptionProbe("judged", images, references) { IsRight = (i, caption) => i != 1 && caption == expected[i] }.Evaluate(captioner);
        var plain = new CaptionProbe("plain", images, references).Evaluate(captioner);

        Assert.Equal(2.0 / 3, judged.Accuracy!.Value, 12);
        Assert.Null(plain.Accuracy);
        Assert.Equal(expected, judged.Samples.Select(sample => sample.Candidate));
    }
}
