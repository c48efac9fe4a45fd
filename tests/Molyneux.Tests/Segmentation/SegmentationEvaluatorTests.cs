using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Segmentation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Segmentation;

public class SegmentationEvaluatorTests
{
    /// <summary>One class "square" of two 32 px images: a bright 12 px square on dark ground, its mask exactly the
    /// square; one in the middle (where the centred blob looks), one in a corner (where it does not).</summary>
    private static string Dataset(TestPaths.TempFolder temp, int maskSize = 32, bool binary = true)
    {
        var root = temp.File("data");
        Directory.CreateDirectory(Path.Combine(root, "images", "square"));
        Directory.CreateDirectory(Path.Combine(root, "masks", "square"));
        foreach (var (name, at) in new[] { ("middle", 10), ("corner", 0) })
        {
            var image = full([3, 32, 32], 0.1f);
            image[.., at..(at + 12), at..(at + 12)] = tensor(0.9f);
            ImageDecoder.SavePng(Path.Combine(root, "images", "square", $"{name}.png"), image);
            var mask = new BinaryMask(maskSize, maskSize);
            var pixels = new bool[maskSize * maskSize];
            for (var y = at; y < Math.Min(at + 12, maskSize); y++)
            for (var x = at; x < Math.Min(at + 12, maskSize); x++)
                pixels[y * maskSize + x] = true;
            new BinaryMask(maskSize, maskSize, pixels).WritePng(Path.Combine(root, "masks", "square", $"{name}.png"));
            if (!binary)
            {
                var gray = full([3, maskSize, maskSize], 0.5f);
                ImageDecoder.SavePng(Path.Combine(root, "masks", "square", $"{name}.png"), gray);
            }
        }
        return root;
    }

    [Fact]
    public void CenteredBlob_ScoresTheMiddleSquareAboveTheCornerOne()
    {
        using var temp = new TestPaths.TempFolder();
        var data = SegmentationDataset.Load(Dataset(temp));
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var report = SegmentationEvaluator.Evaluate(clip, data, new SegmentationOptions { Method = new CenteredBlob() });

        Assert.Equal(["square"], report.PerClass.Select(row => row.Class));
        Assert.Equal("a square", report.PerClass[0].Prompt);
        var middle = report.PerImage.Single(image => image.Image.EndsWith("middle.png"));
        var corner = report.PerImage.Single(image => image.Image.EndsWith("corner.png"));
        Assert.True(middle.Dice > 0.5, $"middle DSC {middle.Dice}");
        Assert.True(corner.Dice < middle.Dice / 4, $"corner DSC {corner.Dice}, middle {middle.Dice}");
        Assert.Equal((middle.Dice + corner.Dice) / 2, report.Overall.Dice.Mean, 1e-12);
        Assert.InRange(report.Overall.Dice.Mean, report.Overall.Dice.Low, report.Overall.Dice.High);

        var path = temp.File("report.json");
        report.Save(path);
        Assert.Contains("\"iou\"", File.ReadAllText(path));
        Assert.Equal(report.Overall.Nsd.Mean, SegmentationReport.Load(path).Overall.Nsd.Mean);
    }

    [Fact]
    public void MaskOfAnotherSize_IsRefusedNamingBothFiles()
    {
        using var temp = new TestPaths.TempFolder();
        var data = SegmentationDataset.Load(Dataset(temp, maskSize: 16));
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var error = Assert.Throws<DatasetException>(() => SegmentationEvaluator.Evaluate(clip, data, new SegmentationOptions { Method = new CenteredBlob() }));
        Assert.Contains("corner.png: the mask is 16×16 but its image", error.Message);
        Assert.Contains("is 32×32", error.Message);
    }

    [Fact]
    public void MaskThatIsNotBinary_IsRefusedNamingIt()
    {
        using var temp = new TestPaths.TempFolder();
        var data = SegmentationDataset.Load(Dataset(temp, binary: false));
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var error = Assert.Throws<DatasetException>(() => SegmentationEvaluator.Evaluate(clip, data, new SegmentationOptions { Method = new CenteredBlob() }));
        Assert.Contains(Path.Combine("masks", "square", "corner.png"), error.Message);
        Assert.Contains("not a binary mask", error.Message);
    }

    [Fact]
    public void PromptLongerThanTheContext_IsRefusedNamingThePromptsFile()
    {
        using var temp = new TestPaths.TempFolder();
        var data = SegmentationDataset.Load(Dataset(temp));
        var prompts = temp.File("prompts.json");
        File.WriteAllText(prompts, $"{{\"square\": \"{string.Join(' ', Enumerable.Repeat("square", 100))}\"}}");
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var error = Assert.Throws<DatasetException>(() =>
            SegmentationEvaluator.Evaluate(clip, data, new SegmentationOptions { Method = new CenteredBlob(), PromptsFile = prompts }));
        Assert.Contains($"{prompts}: the prompt of class 'square' has 102 tokens, more than the model's context of 77", error.Message);
    }

    [Fact]
    public void ImageWithoutMask_IsRefusedSayingWhereTheMaskWasExpected()
    {
        using var temp = new TestPaths.TempFolder();
        var root = Dataset(temp);
        File.Delete(Path.Combine(root, "masks", "square", "middle.png"));
        var error = Assert.Throws<DatasetException>(() => SegmentationDataset.Load(root));
        Assert.Contains("middle.png: has no mask (expected", error.Message);
    }

    [Fact]
    public void PromptsFile_MustNameEveryClassAndNoOther()
    {
        using var temp = new TestPaths.TempFolder();
        var data = SegmentationDataset.Load(Dataset(temp));
        var prompts = temp.File("prompts.json");
        File.WriteAllText(prompts, "{\"circle\": \"a circle\"}");
        Assert.Contains("names class 'circle'", Assert.Throws<DatasetException>(() => data.Prompts(prompts, "a {}")).Message);
        File.WriteAllText(prompts, "{}");
        Assert.Contains("has no prompt for class 'square'", Assert.Throws<DatasetException>(() => data.Prompts(prompts, "a {}")).Message);
        File.WriteAllText(prompts, "{\"square\": \"a bright square\"}");
        Assert.Equal(["a bright square"], data.Prompts(prompts, "a {}"));
    }
}
