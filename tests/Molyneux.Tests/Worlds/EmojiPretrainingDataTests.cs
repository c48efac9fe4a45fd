using Molyneux.Worlds.Emoji;
using static TorchSharp.torch;

namespace Molyneux.Tests.Worlds;

/// <summary>The emoji world's caption probes: a caption is right when the drawing's label comes first, as in the
/// pretraining captions; the curve captions an evenly spaced subset, the test all drawings.</summary>
public sealed class EmojiPretrainingDataTests
{
    [Theory]
    [InlineData("flamingo", "flamingo", true)]
    [InlineData("flamingo: bird, pink; pink, round", "flamingo", true)]
    [InlineData("flamingo; pink", "flamingo", true)]
    [InlineData("Flamingo :  bird", "flamingo", true)]
    [InlineData("flag: germany; black, red", "flag: Germany", true)]
    [InlineData("man's shoe: clothing", "man’s shoe", true)]
    [InlineData("cat face: animal", "cat", false)]
    [InlineData("a flamingo", "flamingo", false)]
    [InlineData("flamingos: bird", "flamingo", false)]
    [InlineData("flag: france", "flag: Germany", false)]
    [InlineData("", "flamingo", false)]
    public void A_caption_is_right_when_it_starts_with_the_label(string caption, string label, bool right) =>
        Assert.Equal(right, EmojiPretrainingData.StartsWithLabel(caption, label));

    [Fact]
    public void Probes_caption_a_spaced_subset_along_the_curve_and_every_drawing_at_the_end()
    {
        const int count = 450;
        var samples = Enumerable.Range(0, count).Select(i => Sample($"concept {i}")).ToList();
        using var images = arange(count, dtype: ScalarType.Int64).remainder(256).to(ScalarType.Byte).reshape(count, 1, 1, 1).expand(count, 3, 2, 2).contiguous();

        var probes = EmojiPretrainingData.CaptionProbesOf(samples, images);

        var (curve, test) = (probes.Single(probe => !probe.FinalOnly), probes.Single(probe => probe.FinalOnly));
        Assert.Equal(EmojiPretrainingData.CurveProbeImages, curve.References.Count);
        Assert.Equal(count, test.References.Count);
        Assert.Equal([count, 3, 2, 2], test.Images.shape);
        // Every second drawing (450 / 200 rounds down to 2), in [0, 1].
        Assert.Equal(2.0 / 255, curve.Images[1, 0, 0, 0].item<float>(), 6);
        Assert.Equal(1.0 / 255, test.Images[1, 0, 0, 0].item<float>(), 6);
        Assert.True(curve.IsRight!(1, "concept 2: tag"));
        Assert.False(curve.IsRight!(1, "concept 1: tag"));
        Assert.True(test.IsRight!(1, "concept 1"));
        Assert.All(test.References, references => Assert.Equal(EmojiPretrainingData.ReferencesPerImage, references.Count));
        Assert.Equal("concept 7", test.References[7][0]);
        Assert.All(test.References[7].Skip(1), reference => Assert.StartsWith("concept 7", reference));
        Assert.Contains(test.References, references => references.Distinct().Count() > 2);
        Assert.Equal(test.References, EmojiPretrainingData.CaptionProbesOf(samples, images).Single(probe => probe.FinalOnly).References);
        foreach (var probe in probes) probe.Images.Dispose();
    }

    private static EmojiSample Sample(string label)
    {
        var image = new EmojiImage("x.png", ["pink"], ["round"], label);
        var concept = new EmojiConcept("1F9A9", label.Replace(' ', '_'), label, ["bird", "pink", "tropical", "wading"], "animals", "bird",
            new Dictionary<string, EmojiImage> { ["twitter"] = image });
        return new EmojiSample(concept, "twitter", "x.png", label);
    }
}
