using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Captioning;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary><c>learn</c> on a captioner (the golden open_clip CoCa): every measurement also captions the images —
/// whether each concept's captions name it, the CIDEr-D of the reference scenes' captions —, λ2 is a dimension of the
/// grid, the choice reads the captions' gain and the CIDEr-D lost, and the report carries both.</summary>
public sealed class CaptionerKnowledgeTransferTests
{
    private static (IReadOnlyList<TeachableConcept> Concepts, ReferenceClasses Reference) Inputs()
    {
        var sources = new ConceptSources(32, () => throw new InvalidOperationException("no emoji here"));
        var concepts = new[] { ("moongate", "a large gray ring on a green background"), ("zorblet", "three red hearts") }.Select(c =>
        {
            var (images, names) = sources.Images($"shapes:{c.Item1}", ".");
            return new TeachableConcept(c.Item1, [c.Item2], images[..10], names.Take(10).ToList());
        }).ToList();
        var full = sources.Reference("shapes:color", []);
        // Every 12th scene keeps all nine colours and makes captioning the reference quick.
        var kept = Enumerable.Range(0, full.Labels.Count).Where(i => i % 12 == 0).ToList();
        var reference = full with
        {
            Images = full.Images.index_select(0, tensor(kept.Select(i => (long)i).ToArray())),
            Labels = kept.Select(i => full.Labels[i]).ToList(),
            Captions = kept.Select(i => full.Captions![i]).ToList(),
        };
        return (concepts, reference);
    }

    [Fact]
    public void Shapes_reference_scenes_come_with_five_captions_each()
    {
        var reference = new ConceptSources(32, () => throw new InvalidOperationException()).Reference("shapes:color", []);
        Assert.Equal(reference.Labels.Count, reference.Captions!.Count);
        Assert.All(reference.Captions, captions => Assert.Equal(5, captions.Count));
        // The first reference is the scene's own caption, which names its colour and never a concept: a taught name
        // must not change what counts as a good caption of an ordinary scene.
        Assert.All(reference.Captions.Select((captions, i) => (captions[0], reference.Names[reference.Labels[i]])),
            pair => Assert.Contains(pair.Item2, pair.Item1));
        Assert.DoesNotContain(reference.Captions.SelectMany(captions => captions),
            caption => Molyneux.Worlds.ShapesConcepts.All.Any(concept => ConceptHits.Mentions(caption, concept.Name)));
    }

    [Fact]
    public void The_target_and_the_forgetting_follow_what_was_measured()
    {
        ConceptAccuracy Concept(double? named) => new("moongate", NameTop1: 0.25, DescriptionTop1: 0.5, NameTop1AllClasses: 0.2, named);
        // A captioner's target is the share of captions naming the concept; another model's, the name prompt's top-1.
        Assert.Equal(0.75, Concept(0.75).Target);
        Assert.Equal(0.25, Concept(null).Target);
        // With reference captions, forgetting is CIDEr-D lost; without (an emoji or folder reference), the top-1 lost.
        var before = new KnowledgeMeasurement([Concept(0)], ReferenceTop1: 0.9, ReferenceCiderD: 1.7);
        Assert.Equal(0.3, new KnowledgeMeasurement([Concept(0.5)], 0.5, 1.4).ForgettingSince(before), 9);
        Assert.Equal(0.1, new KnowledgeMeasurement([Concept(0.5)], 0.8).ForgettingSince(before with { ReferenceCiderD = null }), 9);
        Assert.Equal((0.5 + 0.25) / 2, new KnowledgeMeasurement([Concept(0.5), Concept(null)], 0.8).MeanTarget, 9);
        Assert.Null(new KnowledgeMeasurement([Concept(0.5), Concept(null)], 0.8).MeanNameInCaption);
    }

    [Fact]
    public void Learning_a_captioner_measures_and_chooses_on_its_captions()
    {
        var (concepts, reference) = Inputs();
        var options = new LearnOptions
        {
            Inversion = new InversionOptions { Steps = 2, ImagesPerConcept = 2, AugmentedCopies = 1 },
            FineTune = new FineTuneOptions { Epochs = 1 },
            LearningRates = [1e-4],
            CaptionWeights = [0.1, 2],
            Distractors = 3,
            ValidationFraction = 0.4,
        };
        using var result = new ConceptLearner(options).Learn(CocaPipelineTests.LoadGolden, concepts, reference);

        Assert.Equal([0.1, 2.0], result.Trials.Select(trial => trial.Configuration.CaptionWeight!.Value));
        Assert.All(result.BeforeHits.Concepts, hits => Assert.Equal(10, hits.Captions!.Count));
        Assert.Equal(reference.Labels.Count, result.BeforeHits.ReferenceCiderD!.Length);
        Assert.NotNull(result.Before.ReferenceCiderD);
        foreach (var trial in result.Trials)
        {
            Assert.Equal(trial.Selection.Concepts.Average(c => c.NameInCaption!.Value) - result.BeforeSelection.Concepts.Average(c => c.NameInCaption!.Value),
                trial.TargetGain, 9);
            Assert.Equal(result.BeforeSelection.ReferenceCiderD!.Value - trial.Selection.ReferenceCiderD!.Value, trial.Forgetting, 9);
            Assert.Equal(trial.Forgetting <= options.CaptionForgettingBound + 1e-12, trial.WithinBound);
        }
        Assert.Equal("--train image, lr 1e-4, caption 2", result.Trials[1].Configuration.ToString());

        using var folder = new TestPaths.TempFolder();
        var report = LearnReport.Create(folder.Path, result);
        var captioning = report.Summary.Captioning!;
        Assert.Equal(result.Before.MeanNameInCaption!.Value, captioning.NameInCaptionBefore.Value, 9);
        Assert.Equal(result.Before.ReferenceCiderD!.Value - result.Chosen.After.ReferenceCiderD!.Value, captioning.CiderDLost!.Value, 9);
        Assert.All(report.Concepts, concept => Assert.Equal(3, concept.NameInCaption!.CaptionsAfter.Count));
        Assert.Contains("Captions naming their concept", report.SummaryMarkdown());
        Assert.All(report.Trials, trial => Assert.NotNull(trial.CaptionWeight));
    }

    [Fact]
    public void Every_trial_replays_the_ordinary_captions_and_a_clip_is_refused_before_any_work()
    {
        var (concepts, reference) = Inputs();
        using var folder = new TestPaths.TempFolder();
        var ordinary = Captioning.CaptionEvaluationTests.CaptionsFile(folder);
        var options = new LearnOptions
        {
            Inversion = new InversionOptions { Steps = 2, ImagesPerConcept = 2, AugmentedCopies = 1 },
            FineTune = new FineTuneOptions { Epochs = 1 },
            LearningRates = [1e-4],
            CaptionWeights = [2],
            Distractors = 3,
            ValidationFraction = 0.4,
        };
        IReadOnlyList<double> FirstTrialLosses(LearnOptions learnOptions)
        {
            using var result = new ConceptLearner(learnOptions).Learn(CocaPipelineTests.LoadGolden, concepts, reference);
            return result.Trials[0].Losses;
        }
        // The same inversion, shuffling and pairs; the replayed captions' loss adds to every step's.
        var (plain, replayed) = (FirstTrialLosses(options), FirstTrialLosses(options with { ReplayCaptions = ordinary }));
        Assert.Equal(plain.Count, replayed.Count);
        Assert.All(plain.Zip(replayed), pair => Assert.True(pair.Second > pair.First, $"step loss {pair.Second} with replay, {pair.First} without"));

        var measured = false;
        var onClip = Assert.Throws<OptionException>(() => new ConceptLearner(options with { ReplayCaptions = ordinary })
        {
            Progress = new SynchronousProgress<string>(_ => measured = true),
        }.Learn(FineTuningFixture.LoadModelA, concepts, reference));
        Assert.StartsWith("--replay: replays ordinary captions through a captioner's decoder", onClip.Message);
        Assert.False(measured);
    }
}
