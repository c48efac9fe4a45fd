using System.Text.Json;

namespace Molyneux.Tests.Cli;

public sealed class AlignCommandTests
{
    [Fact]
    public void Align_writes_a_dual_encoder_folder_with_its_curve_that_the_other_commands_load()
    {
        using var folder = new TestPaths.TempFolder();
        var output = folder.File("aligned");
        var result = CliRunner.Run("align", "--data", "shapes-plain", "--train", "projections", "--steps", "4", "--batch-size", "16",
            "--shapes-count", "64", "--input-size", "32", "--probe-every", "2", "--projection-dim", "32", "--out", output);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("step 4/4", result.Error);
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json")));
        var curve = record.RootElement.GetProperty("curve");
        Assert.Equal(4, curve.GetArrayLength());
        Assert.Equal(JsonValueKind.Object, curve[1].GetProperty("probes").ValueKind);
        Assert.False(curve[2].TryGetProperty("probes", out _));
        Assert.True(new FileInfo(Path.Combine(output, "training.png")).Length > 1000);
        // The towers were locked: the projections alone rebuild the model from the build's towers (DefaultModel).
        Assert.True(new FileInfo(Path.Combine(output, "projections.safetensors")).Length < 200_000);
        var info = CliRunner.Run("info", "--model", output, "--json");
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("vision_text_dual_encoder", info.Output);
        Assert.Contains("\"image size\": 32", info.Output);
    }

    [Theory]
    [InlineData(new[] { "--input-size", "16" }, "--input-size 16: the ResNet needs at least 32 pixels")]
    [InlineData(new[] { "--train", "everything" }, "--train: expected projections, image-projection, image, text, image+projections or all, got 'everything'")]
    [InlineData(new[] { "--unlocked-stages", "5" }, "unlocked image stages must be 1 to 4, got 5")]
    [InlineData(new[] { "--batch-size", "1" }, "batch size must be at least 2")]
    [InlineData(new[] { "--validation" }, "--validation: only the emoji world has a validation split")]
    [InlineData(new[] { "--data", "/nonexistent.jsonl" }, "is not emoji, shapes, shapes-plain or an existing captions file")]
    public void Bad_alignment_options_are_refused_with_no_output(string[] options, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        string[] data = options.Contains("--data") ? [] : ["--data", "shapes-plain"];
        var result = CliRunner.Run(["align", .. data, "--steps", "2", "--shapes-count", "32", "--out", folder.File("aligned"), .. options]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("aligned")));
    }
}
