using System.Text.Json;

namespace Molyneux.Tests.Cli;

public sealed class LearnCommandTests
{
    [Fact]
    public void Learn_writes_the_taught_model_and_the_report()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """
            [{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"},
             {"name": "zorblet", "description": "three red hearts", "images": "shapes:zorblet"}]
            """);
        var (output, report) = (folder.File("taught"), folder.File("report"));
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", output, "--report", report, "--steps", "3", "--images-per-concept", "2", "--copies", "1",
            "--train", "image", "--lr", "1e-4", "--distractors", "3");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("moongate", result.Output);
        Assert.Contains("reference top-1", result.Output);
        Assert.Equal(0, CliRunner.Run("info", "--model", output).ExitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        Assert.Equal(2, json.RootElement.GetProperty("concepts").GetArrayLength());
        Assert.Equal("image", json.RootElement.GetProperty("trials")[0].GetProperty("train").GetString());
        Assert.True(File.Exists(Path.Combine(report, "report.html")));
    }

    [Fact]
    public void Lr_auto_tries_every_half_decade_from_1e_5_to_1e_3_and_marks_one_trial_chosen()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}]""");
        var report = folder.File("report");
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", folder.File("taught"), "--report", report, "--steps", "2", "--images-per-concept", "2",
            "--copies", "1", "--train", "token", "--lr", "auto", "--distractors", "3");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var trials = json.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal([1e-5, 3e-5, 1e-4, 3e-4, 1e-3], trials.Select(trial => trial.GetProperty("learning_rate").GetDouble()));
        Assert.Single(trials, trial => trial.GetProperty("chosen").GetBoolean());
    }

    [Theory]
    [InlineData("""[{"name": "x", "description": "y", "images": "shapes:nonexistent"}]""", "nonexistent")]
    [InlineData("""[{"name": "x", "description": "y", "images": "no-such-folder"}]""", "images folder not found")]
    [InlineData("""{"name": "x"}""", "concepts.json")]
    public void Bad_concepts_files_are_named_and_nothing_is_written(string concepts, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), concepts);
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", folder.File("taught"), "--report", folder.File("report"), "--steps", "2");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("taught")));
        Assert.False(Directory.Exists(folder.File("report")));
    }
}
