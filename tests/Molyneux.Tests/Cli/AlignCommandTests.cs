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

    [Fact]
    public void Align_takes_other_towers_by_folder_and_refuses_them_beside_a_dual_encoder_folder()
    {
        using var folder = new TestPaths.TempFolder();
        Asif.AsifViTEncoderTests.SaveRandom(folder.File("vit"), Asif.AsifViTEncoderTests.Tiny);
        var output = folder.File("aligned");
        var result = CliRunner.Run("align", "--data", "shapes-plain", "--image-tower", folder.File("vit"), "--steps", "2", "--batch-size", "16",
            "--shapes-count", "32", "--probe-every", "0", "--projection-dim", "8", "--image-views", "1", "--out", output);

        Assert.True(result.ExitCode == 0, result.Error);
        // Not the build's towers: the whole folder is the model, no projections file stands for it.
        Assert.False(File.Exists(Path.Combine(output, "projections.safetensors")));
        using (var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json"))))
            Assert.Equal($"{folder.File("vit")}+minilm", record.RootElement.GetProperty("from").GetString());
        var info = CliRunner.Run("info", "--model", output, "--json");
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("ViT, width 16, 2 layers", info.Output);

        var refused = CliRunner.Run("align", "--data", "shapes-plain", "--from", output, "--text-tower", "minilm", "--out", folder.File("again"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("a dual encoder folder brings its own towers", refused.Error);
        Assert.False(Directory.Exists(folder.File("again")));
        var continued = CliRunner.Run("align", "--data", "shapes-plain", "--from", output, "--steps", "1", "--batch-size", "16", "--shapes-count", "32",
            "--probe-every", "0", "--image-views", "1", "--out", folder.File("again"));
        Assert.True(continued.ExitCode == 0, continued.Error);
    }

    [Fact]
    public void A_state_left_by_an_interrupted_run_needs_resume()
    {
        using var folder = new TestPaths.TempFolder();
        Directory.CreateDirectory(folder.File("aligned.resume"));
        File.WriteAllText(folder.File("aligned.resume/align_state.json"), "{}");

        var result = CliRunner.Run("align", "--data", "shapes-plain", "--steps", "2", "--shapes-count", "32", "--out", folder.File("aligned"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("pass --resume to continue it", result.Error);
        Assert.False(Directory.Exists(folder.File("aligned")));
    }

    [Theory]
    [InlineData(new[] { "--input-size", "16" }, "--input-size 16: the ResNet needs at least 32 pixels")]
    [InlineData(new[] { "--train", "everything" }, "--train: expected projections, image-projection, image, text, image+projections or all, got 'everything'")]
    [InlineData(new[] { "--unlocked-stages", "5" }, "5 unlocked stages asked, but the image tower has 4")]
    [InlineData(new[] { "--unlocked-stages", "0" }, "unlocked image stages must be at least 1, got 0")]
    [InlineData(new[] { "--batch-size", "1" }, "batch size must be at least 2")]
    [InlineData(new[] { "--minutes", "1" }, "give --steps or --minutes, not both")]
    [InlineData(new[] { "--minutes", "0" }, "--minutes must be positive, got 0")]
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
