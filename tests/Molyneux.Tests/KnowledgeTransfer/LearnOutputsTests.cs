using Molyneux.KnowledgeTransfer;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Where <c>learn</c> puts its results, decided before any work: an existing folder stops the run at once; and
/// <c>--inverted</c>'s images as learning takes them, with the selection's held-out images left out.</summary>
public sealed class LearnOutputsTests
{
    [Fact]
    public void An_existing_folder_is_refused_before_any_work_unless_overwrite()
    {
        using var temp = new TestPaths.TempFolder();
        var existing = Directory.CreateDirectory(temp.File("report")).FullName;

        var error = Assert.Throws<OptionException>(() => new LearnOutputs(temp.File("model"), existing, overwrite: false));
        Assert.Equal($"{existing}: already exists (pass --overwrite to replace it)", error.Message);

        var outputs = new LearnOutputs(Path.GetRelativePath(Environment.CurrentDirectory, temp.File("model")), existing, overwrite: true);
        Assert.Equal(temp.File("model"), outputs.ModelFolder);
        Assert.Equal(Path.Combine(existing, LearnReport.HtmlFileName), outputs.ReportPage);
        Assert.Null(new LearnOutputs(temp.File("model"), null, overwrite: false).ReportPage);
        Assert.False(Directory.Exists(temp.File("model")));
    }

    [Fact]
    public void Saved_inversions_leave_out_the_held_out_images_and_warn_when_another_model_made_them()
    {
        using var temp = new TestPaths.TempFolder();
        DescribedConcept[] described = [new("moongate", ["a large gray ring"]), new("sunstone", ["a small yellow star"])];
        using (var result = new InversionResult(rand(6, 3, 8, 8, generator: new Generator(3)), [], null))
            InvertedConcepts.Write(temp.Path, result, described, imagesPerConcept: 3, modelIdentity: new string('a', 64), new InversionOptions { Steps = 1 });
        var concepts = described.Select(c => new TeachableConcept(c.Name, c.Descriptions, zeros(1, 3, 8, 8))).ToList();
        var warnings = new List<string>();
        var collect = new SynchronousProgress<string>(warnings.Add);

        var (inversion, perConcept) = InvertedConcepts.ForLearning(temp.Path, new LearnOptions { Selection = TrialSelection.Inverted, HeldOutInvertedPerConcept = 1 },
            new string('b', 64), concepts, collect);
        using (inversion)
        {
            Assert.Equal(2, perConcept);
            Assert.Equal([6, 3, 8, 8], inversion.Inverted.shape);
        }
        Assert.Equal([$"{temp.Path} was inverted from another model (sha256 aaaaaaaaaaaa…), not this one (bbbbbbbbbbbb…)"], warnings);

        var (all, _) = InvertedConcepts.ForLearning(temp.Path, new LearnOptions(), new string('a', 64), concepts, collect);
        all.Dispose();
        Assert.Single(warnings);
        var error = Assert.Throws<OptionException>(() => InvertedConcepts.ForLearning(temp.Path,
            new LearnOptions { Selection = TrialSelection.Inverted, HeldOutInvertedPerConcept = 3 }, new string('a', 64), concepts));
        Assert.Contains("has 3 images per concept; --select inverted holds 3 of them out", error.Message);
    }
}
