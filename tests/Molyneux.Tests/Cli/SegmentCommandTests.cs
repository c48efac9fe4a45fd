using System.Text.Json;
using Molyneux.Imaging;
using Molyneux.Segmentation;
using Molyneux.Worlds;

namespace Molyneux.Tests.Cli;

public class SegmentCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    [Fact]
    public void Saliency_WritesAHeatMapOfTheImagesSize_AndTheMask()
    {
        using var temp = new TestPaths.TempFolder();
        var image = temp.File("scene.png");
        using (var pixels = TorchSharp.torch.rand(3, 40, 56)) ImageDecoder.SavePng(image, pixels);

        var result = CliRunner.Run("saliency", "--model", ModelA, "--image", image, "--text", "a red square", "--layer", "1",
            "--out", temp.File("map.png"), "--mask", temp.File("mask.png"), "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var map = ImageDecoder.Load(temp.File("map.png"));
        Assert.Equal([3L, 40, 56], map.shape);
        var mask = BinaryMask.ReadPng(temp.File("mask.png"));
        using var json = JsonDocument.Parse(result.Output);
        Assert.StartsWith("m2ib (layer 1", json.RootElement.GetProperty("method").GetString());
        Assert.Equal(mask.Count, json.RootElement.GetProperty("mask_pixels").GetInt32());
        Assert.True(json.RootElement.GetProperty("boxes").GetArrayLength() >= 1);
    }

    [Fact]
    public void EvalSegment_OnShapesObjectScenes_WritesTheReportAndThePage()
    {
        using var temp = new TestPaths.TempFolder();
        var data = temp.File("objects");
        new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 }).ExportObjectScenes(data, ShapesObjectConcepts.All.Take(2).ToList(), perConcept: 2, seed: 0);

        var result = CliRunner.Run("eval", "segment", "--model", ModelA, "--data", data, "--prompts", Path.Combine(data, "descriptions.json"),
            "--method", "gradcam", "--layer", "2", "--threshold", "otsu", "--report", temp.File("report"), "--json", temp.File("scores.json"));

        Assert.True(result.ExitCode == 0, result.Error);
        var report = SegmentationReport.Load(temp.File("scores.json"));
        Assert.Equal(ShapesObjectConcepts.All.Take(2).Select(c => c.Name), report.PerClass.Select(row => row.Class));
        Assert.Equal(ShapesObjectConcepts.All.Take(2).Select(c => c.Definition), report.PerClass.Select(row => row.Prompt));
        Assert.Equal(4, report.PerImage.Count);
        Assert.Equal(MaskMethod.Otsu, report.Mask.Method);
        Assert.Equal(report.Overall.Dice.Mean, SegmentationReport.Load(temp.File("report/segmentation.json")).Overall.Dice.Mean);
        var page = File.ReadAllText(temp.File("report/index.html"));
        Assert.Contains("gradcam (layer 2)", page);
        Assert.Equal(4 * 4, Directory.GetFiles(temp.File("report/images")).Length);
        Assert.Contains("DSC", result.Output);
    }
}
