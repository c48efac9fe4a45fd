using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Tests.Cli;

namespace Molyneux.Tests.Captioning;

/// <summary><see cref="CaptionEvaluation"/> on the golden tiny CoCa with a captions file over the golden images:
/// the captions are the captioner's, the metrics <see cref="CaptionMetrics.Compute"/>'s on them, the CLIP-score the mean
/// of <see cref="ClipScore"/>'s scaled cosines.</summary>
public sealed class CaptionEvaluationTests
{
    internal static readonly string[][] References =
    [
        ["a photo of noise", "random coloured pixels"],
        ["noise in many colours"],
        ["a square of noise", "pixels at random", "a noisy picture"],
    ];

    /// <summary>A captions file over the golden images (PNG files in images/), with <see cref="References"/>.</summary>
    internal static string CaptionsFile(TestPaths.TempFolder folder, int images = 3)
    {
        CaptionCommandTests.PngFiles(folder);
        var path = folder.File("captions.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, images).Select(i =>
            System.Text.Json.JsonSerializer.Serialize(new { image = $"images/image{i}.png", captions = References[i] })));
        return path;
    }

    [Fact]
    public void Metrics_are_those_of_the_generated_captions_against_the_file_s_captions()
    {
        using var folder = new TestPaths.TempFolder();
        var dataset = CaptionsDataset.Load(CaptionsFile(folder));
        using var coca = CocaGoldenTests.LoadGolden();
        var captioner = new Captioner(coca);
        var options = new CaptionOptions { MaxLength = 8 };

        var report = CaptionEvaluation.Evaluate(captioner, dataset, options);

        var expectedTexts = captioner.CaptionFiles([.. dataset.Images.Select(image => image.ImagePath)], options).Select(caption => caption.Text).ToList();
        Assert.Equal(expectedTexts, report.Captions.Select(caption => caption.Generated));
        Assert.Equal(["images/image0.png", "images/image1.png", "images/image2.png"], report.Captions.Select(caption => caption.Image.Replace('\\', '/')));
        Assert.Equal(References, report.Captions.Select(caption => caption.References.ToArray()));
        var expected = CaptionMetrics.Compute([.. expectedTexts.Zip(References, (text, references) => new GeneratedCaption(text, references))]);
        Assert.Equal(expected.Bleu.Corpus, [report.Metrics.Bleu1, report.Metrics.Bleu2, report.Metrics.Bleu3, report.Metrics.Bleu4]);
        Assert.Equal(expected.CiderD.Corpus, report.Metrics.CiderD);
        Assert.Null(report.Metrics.ClipScore);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Clip_score_is_the_mean_scaled_cosine_of_each_caption_with_its_image()
    {
        using var folder = new TestPaths.TempFolder();
        var dataset = CaptionsDataset.Load(CaptionsFile(folder));
        using var coca = CocaGoldenTests.LoadGolden();
        using var clip = VisionLanguageCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

        var report = CaptionEvaluation.Evaluate(new Captioner(coca), dataset, new CaptionOptions { MaxLength = 8 }, clip);

        var cosines = ClipScore.Cosines(clip, [.. dataset.Images.Select(image => image.ImagePath)], [.. report.Captions.Select(caption => caption.Generated)]);
        Assert.Equal(cosines.Average(cosine => ClipScore.Scaled(cosine)), report.Metrics.ClipScore!.Value, 12);
    }

    [Fact]
    public void A_single_image_is_warned_about_because_its_CIDEr_D_is_always_zero()
    {
        using var folder = new TestPaths.TempFolder();
        using var coca = CocaGoldenTests.LoadGolden();
        var report = CaptionEvaluation.Evaluate(new Captioner(coca), CaptionsDataset.Load(CaptionsFile(folder, images: 1)), new CaptionOptions { MaxLength = 8 });
        Assert.Equal(0, report.Metrics.CiderD);
        Assert.Contains("CIDEr-D", Assert.Single(report.Warnings));
    }
}
