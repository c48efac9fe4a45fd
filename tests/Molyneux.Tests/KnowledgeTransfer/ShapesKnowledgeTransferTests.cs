using Xunit.Abstractions;
using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Fixtures;
using Molyneux.Worlds;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Knowledge Transfer end to end on the shapes world: the fixture's model has seen every composite concept
/// described but never named; learning the ten names from their definitions alone (inverted images, no real image
/// trained on) must make the names recognisable on real generated scenes, with the noise control and forgetting
/// checked, over three seeds; the configuration is chosen on validation scenes and every assertion reads test scenes.</summary>
[Collection(ShapesModelCollection.Name)]
public sealed class ShapesKnowledgeTransferTests(ShapesModelFixture model, ITestOutputHelper output)
{
    private static LearnOptions Options(int seed) => new()
    {
        Inversion = new InversionOptions { Steps = 150, ImagesPerConcept = 10, AugmentedCopies = 4, Seed = seed },
        TrainModes = LearnOptions.AutoTrainModes,
        LearningRates = LearnOptions.AutoLearningRates,
        Caption = CaptionMode.Name,
        Distractors = 0,
        ForgettingBound = 0.05,
        NoiseControl = true,
        Seed = seed,
    };

    private static (IReadOnlyList<TeachableConcept> Concepts, ReferenceClasses Reference) Inputs(int seed)
    {
        var sources = new ConceptSources(32, () => throw new InvalidOperationException("the shapes world needs no emoji"), seed);
        var concepts = ShapesConcepts.All
            .Select(concept =>
            {
                var (images, names) = sources.Images(ConceptsFile.ShapesPrefix + concept.Name, ".");
                return new TeachableConcept(concept.Name, [concept.Definition], images, names);
            })
            .ToList();
        return (concepts, sources.Reference("shapes:color", []));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Learning_the_withheld_names_raises_their_accuracy_beyond_the_noise_control_without_forgetting()
    {
        var rows = new List<(double Before, double After, double Noise, double Forgetting, double TokenForgetting)>();
        foreach (var seed in new[] { 0, 1, 2 })
        {
            var (concepts, reference) = Inputs(seed);
            using var result = new ConceptLearner(Options(seed))
                .Learn(() => ClipCheckpoint.Load(model.Folder), concepts, reference);
            var chosen = result.Chosen;
            // Every figure below is on the test scenes; the choices (of the run and of the noise control) read only
            // the validation scenes.
            rows.Add((result.Before.MeanNameTop1, chosen.After.MeanNameTop1, result.NoiseControl!.MeanNameTop1,
                result.Before.ReferenceTop1 - chosen.After.ReferenceTop1,
                result.Trials.Where(t => t.Configuration.Train == TrainMode.Token).Max(t => result.Before.ReferenceTop1 - t.After.ReferenceTop1)));
            output.WriteLine($"seed {seed}: name top-1 {result.Before.MeanNameTop1:P1} → {chosen.After.MeanNameTop1:P1} " +
                             $"({chosen.Configuration}); description top-1 " +
                             $"{result.Before.Concepts.Average(c => c.DescriptionTop1):P1}; noise control {result.NoiseControl.MeanNameTop1:P1} " +
                             $"({result.NoiseGrid!.Chosen.Configuration}); " +
                             $"reference {result.Before.ReferenceTop1:P1} → {chosen.After.ReferenceTop1:P1}");
            foreach (var trial in result.Trials)
                output.WriteLine($"    {trial.Configuration}: validation gain {100 * trial.TargetGain:F1}, " +
                                 $"forgetting {100 * trial.Forgetting:F1} points; test name {trial.After.MeanNameTop1:P1}");
        }
        Assert.True(rows.Average(r => r.Before) <= 0.10, $"before: {rows.Average(r => r.Before):P1}");
        Assert.True(rows.Average(r => r.After) >= 0.40, $"after: {rows.Average(r => r.After):P1}");
        // The inverted images, not the fine-tuning itself, must carry the concept. The control has its own grid and
        // is chosen the same way, so it gets the same advantage of choice: it stays far below the real run
        // (10–20 % on the seeds, mean 16.3 %, when last run, against 44–51 %; the bound of 20 % is on the mean).
        Assert.True(rows.Average(r => r.Noise) <= 0.20, $"noise control: {rows.Average(r => r.Noise):P1}");
        Assert.True(rows.Average(r => r.After - r.Noise) >= 0.20, $"real minus noise control: {rows.Average(r => r.After - r.Noise):P1}");
        Assert.All(rows, r => Assert.True(r.Forgetting <= 0.05, $"forgetting {100 * r.Forgetting:F1} points"));
        Assert.All(rows, r => Assert.True(r.TokenForgetting <= 0.005, $"--train token forgetting {100 * r.TokenForgetting:F1} points"));
    }
}
