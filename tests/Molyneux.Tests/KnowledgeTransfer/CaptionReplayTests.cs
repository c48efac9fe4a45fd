using System.Text.Json;
using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Cli;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The ordinary captions a captioner's fine-tuning replays: a captions file of scenes that show no concept
/// (<c>data shapes --withhold</c>), read at the model's input size with each image's first caption; and what
/// <c>learn --replay</c> refuses before any work.</summary>
public sealed class CaptionReplayTests
{
    private static readonly string Concepts = Path.Combine(TestPaths.RepositoryRoot, "docs", "examples", "shapes-concepts.json");

    [Fact]
    public void Ordinary_scenes_name_no_concept_and_load_at_the_model_s_size_with_their_first_caption()
    {
        using var temp = new TestPaths.TempFolder();
        var folder = temp.File("ordinary");
        var result = CliRunner.Run("data", "shapes", "--count", "300", "--seed", "9", "--references", "2", "--withhold", Concepts, "--out", folder);
        Assert.True(result.ExitCode == 0, result.Error);
        var names = ConceptsFile.Read(Concepts).Select(concept => concept.Name).ToList();
        var lines = File.ReadAllLines(Path.Combine(folder, "captions.jsonl"));
        var captions = lines.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("captions")[0].GetString()!).ToList();
        Assert.Equal(300, captions.Count);
        Assert.DoesNotContain(captions, caption => names.Any(name => caption.Contains(name, StringComparison.Ordinal)));
        // The same stream without --withhold shows concepts, so the check above can fail.
        var withConcepts = CliRunner.Run("data", "shapes", "--count", "300", "--seed", "9", "--out", temp.File("all"));
        Assert.True(withConcepts.ExitCode == 0, withConcepts.Error);
        Assert.Contains(File.ReadAllLines(temp.File("all/captions.jsonl")), line => names.Any(name => line.Contains(name, StringComparison.Ordinal)));

        using var replay = CaptionReplay.Load(Path.Combine(folder, "captions.jsonl"), imageSize: 16);
        Assert.Equal([300, 3, 16, 16], replay.Images.shape);
        Assert.Equal(captions, replay.Captions);
        Assert.InRange(replay.Images.min().item<float>(), 0, 1);
        Assert.InRange(replay.Images.max().item<float>(), 0, 1);
    }

    [Fact]
    public void Learn_refuses_a_missing_replay_file_and_a_caption_weight_of_zero_before_any_work()
    {
        var missing = Assert.Throws<OptionException>(() => new LearnOptions { ReplayCaptions = "/nonexistent/captions.jsonl" }.Validate());
        Assert.Equal("--replay: /nonexistent/captions.jsonl: no such captions file", missing.Message);
        using var temp = new TestPaths.TempFolder();
        var file = temp.File("captions.jsonl");
        File.WriteAllText(file, "");
        var weightless = Assert.Throws<OptionException>(() => new LearnOptions { ReplayCaptions = file, CaptionWeights = [0, 2] }.Validate());
        Assert.Contains("a --caption-weight of 0 turns off", weightless.Message);
        new LearnOptions { ReplayCaptions = file, CaptionWeights = [2] }.Validate();
    }
}
