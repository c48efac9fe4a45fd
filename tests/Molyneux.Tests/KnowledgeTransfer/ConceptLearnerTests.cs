using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The learn pipeline's mechanics on the golden random CLIP (fast): trials over the grid, the choice rule,
/// the noise control, and the report files. Whether it teaches anything is the shapes-world end-to-end test's job.</summary>
public sealed class ConceptLearnerTests
{
    private static ClipPipeline Golden() => ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

    private static (IReadOnlyList<TeachableConcept> Concepts, ReferenceClasses Reference) Inputs()
    {
        var sources = new ConceptSources(32, () => throw new InvalidOperationException("no emoji here"));
        var concepts = new[] { ("moongate", "a large gray ring on a green background"), ("zorblet", "three red hearts") }
            .Select(c => new TeachableConcept(c.Item1, [c.Item2], sources.Images($"shapes:{c.Item1}", "."))).ToList();
        return (concepts, sources.Reference("shapes:color", []));
    }

    private static LearnOptions Options(bool noiseControl = false) => new()
    {
        Inversion = new InversionOptions { Steps = 4, ImagesPerConcept = 2, AugmentedCopies = 1 },
        FineTune = new FineTuneOptions { Epochs = 1 },
        TrainModes = [TrainMode.Image, TrainMode.Token],
        LearningRates = [1e-4, 1e-3],
        Distractors = 3,
        ForgettingBound = 0.5,
        NoiseControl = noiseControl,
    };

    [Fact]
    public void Learning_tries_every_configuration_and_keeps_the_best_within_the_bound()
    {
        var (concepts, reference) = Inputs();
        using var result = new ConceptLearner(Options(noiseControl: true)).Learn(Golden, concepts, reference);
        Assert.Equal(4, result.Trials.Count);
        Assert.Equal([TrainMode.Image, TrainMode.Image, TrainMode.Token, TrainMode.Token], result.Trials.Select(t => t.Train));
        foreach (var trial in result.Trials)
        {
            Assert.Equal(trial.After.MeanNameTop1 - result.Before.MeanNameTop1, trial.TargetGain, 9);
            Assert.Equal(result.Before.ReferenceTop1 - trial.After.ReferenceTop1, trial.Forgetting, 9);
            Assert.Equal(trial.Forgetting <= 0.5, trial.WithinBound);
            Assert.NotEmpty(trial.Losses);
        }
        var eligible = result.Trials.Where(t => t.WithinBound).ToList();
        if (eligible.Count > 0) Assert.Equal(eligible.Max(t => t.TargetGain), result.Chosen.TargetGain);
        Assert.NotNull(result.NoiseControl);
        Assert.Equal([2L * 2, 3, 32, 32], result.Inversion.Inverted.shape);
        Assert.All(result.Before.Concepts, c => Assert.InRange(c.NameTop1, 0, 1));
    }

    [Fact]
    public void The_report_has_the_documented_fields_and_a_self_contained_page()
    {
        var (concepts, reference) = Inputs();
        var options = Options() with { TrainModes = [TrainMode.Image], LearningRates = [1e-4] };
        using var result = new ConceptLearner(options).Learn(Golden, concepts, reference);
        using var folder = new TestPaths.TempFolder();
        var reportFolder = folder.File("report");
        AtomicFile.WriteDirectory(reportFolder, false, temporary =>
            LearnReport.Create(temporary, result, concepts, reference, 2, "model", "0123456789abcdef", null, new Dictionary<string, object?> { ["seed"] = 0 }).Save(temporary));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(reportFolder, "report.json")));
        var root = json.RootElement;
        var concept = root.GetProperty("concepts")[0];
        Assert.Equal("moongate", concept.GetProperty("name").GetString());
        foreach (var block in new[] { "before", "after" })
        foreach (var field in new[] { "name_top1", "description_top1" })
            Assert.InRange(concept.GetProperty(block).GetProperty(field).GetDouble(), 0, 1);
        Assert.Equal(result.Before.ReferenceTop1, root.GetProperty("reference").GetProperty("before_top1").GetDouble(), 9);
        Assert.Equal(result.Chosen.After.ReferenceTop1, root.GetProperty("reference").GetProperty("after_top1").GetDouble(), 9);
        foreach (var image in concept.GetProperty("inverted_images").EnumerateArray())
            Assert.True(File.Exists(Path.Combine(reportFolder, image.GetString()!)));
        var html = File.ReadAllText(Path.Combine(reportFolder, "report.html"));
        Assert.Contains("data:image/png;base64,", html);
        Assert.Contains("moongate", html);
        Assert.DoesNotContain("src=\"concept", html);
        var summary = File.ReadAllLines(Path.Combine(reportFolder, "summary.md"));
        Assert.Equal($"| 2 concepts | name top-1 | description top-1 | reference top-1 ({reference.Names.Count} classes) |", summary[0]);
        Assert.Equal($"| before | {100 * result.Before.MeanNameTop1:F1} % | {100 * result.Before.Concepts.Average(c => c.DescriptionTop1):F1} % | {100 * result.Before.ReferenceTop1:F1} % |", summary[2]);
        Assert.StartsWith($"| after (`--train image`, lr 1e-4) | {100 * result.Chosen.After.MeanNameTop1:F1} % |", summary[3]);
        Assert.Equal(4, summary.Length);
    }
}
