using System.Text.Json;
using Molyneux.Worlds;

namespace Molyneux.Tests.Cli;

public sealed class PretrainCommandTests
{
    [Fact]
    public void Pretrain_on_the_shapes_world_writes_a_model_that_the_other_commands_load()
    {
        using var folder = new TestPaths.TempFolder();
        var output = folder.File("shapes-model");
        var result = CliRunner.Run("pretrain", "--data", "shapes", "--preset", "micro", "--steps", "12", "--batch-size", "16",
            "--vocab-size", "600", "--shapes-count", "500", "--out", output, "--tensorboard", folder.File("tb"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("step 12/12", result.Error);
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json")));
        Assert.Equal(12, record.RootElement.GetProperty("final").GetProperty("steps").GetInt32());
        var environment = record.RootElement.GetProperty("environment");
        Assert.Equal("0.107.0", environment.GetProperty("torchsharp").GetString());
        Assert.Equal("cpu", environment.GetProperty("device").GetString());
        // Every step's loss and learning rate, and the probes wherever the curve has a point.
        var events = Runtime.TensorBoardEvents.Read(folder.File("tb"));
        Assert.Equal(Enumerable.Range(1, 12), events.Where(e => e.Tag == "pretrain/loss").Select(e => e.Step));
        Assert.Equal(12, events.Count(e => e.Tag == "pretrain/lr"));
        var curve = record.RootElement.GetProperty("curve").EnumerateArray().ToList();
        Assert.Equal(curve.Select(point => point.GetProperty("step").GetInt32()), events.Where(e => e.Tag == "pretrain/logit_scale").Select(e => e.Step));
        var info = CliRunner.Run("info", "--model", output, "--json");
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("\"image size / patch\": \"32 / 8\"", info.Output);
    }

    [Theory]
    [InlineData(new[] { "--steps", "-5" }, "--steps: must be positive")]
    [InlineData(new[] { "--steps", "5", "--lr", "0" }, "--lr: must be positive")]
    [InlineData(new[] { "--steps", "5", "--minutes", "3" }, "give exactly one of --steps and --minutes")]
    [InlineData(new[] { "--steps", "5", "--batch-size", "1" }, "--batch-size: must be at least 2")]
    [InlineData(new[] { "--steps", "5", "--data", "/nonexistent.jsonl" }, "is not emoji, shapes, shapes-plain or an existing captions file")]
    public void Bad_pretraining_options_are_refused_before_any_work(string[] options, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        string[] data = options.Contains("--data") ? [] : ["--data", "shapes"];
        string[] args = ["pretrain", .. data, "--preset", "micro", "--out", folder.File("model"), .. options];
        var result = CliRunner.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("model")));
    }

    [Fact]
    public void Data_shapes_exports_captions_and_class_folders()
    {
        using var folder = new TestPaths.TempFolder();
        Assert.Equal(0, CliRunner.Run("data", "shapes", "--out", folder.File("captions"), "--count", "5").ExitCode);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(folder.File("captions"), "captions.jsonl")).Length);
        Assert.Equal(0, CliRunner.Run("data", "shapes", "--out", folder.File("colors"), "--count", "2", "--question", "color").ExitCode);
        Assert.Equal(9, Directory.GetDirectories(folder.File("colors")).Length);

        Assert.Equal(0, CliRunner.Run("data", "shapes", "--plain", "--out", folder.File("plain-colors"), "--count", "2", "--question", "color").ExitCode);
        Assert.Equal(ShapesWorld.Colors.Where(c => c != "black").Order(), Directory.GetDirectories(folder.File("plain-colors")).Select(Path.GetFileName).Order());
        var concepts = CliRunner.Run("data", "shapes", "--plain", "--out", folder.File("plain-concepts"), "--question", "concepts");
        Assert.Equal(1, concepts.ExitCode);
        Assert.Contains("the concept question keeps fewer than two classes in this world", concepts.Error);
        Assert.False(Directory.Exists(folder.File("plain-concepts")));
    }
}
