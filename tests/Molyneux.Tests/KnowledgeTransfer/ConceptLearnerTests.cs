using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Pretraining;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Molyneux.Modeling;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The learn pipeline's mechanics on the golden random CLIP (fast): trials over the grid, the choice rule and
/// what it may read, the noise control's grid, names checked before any work, and the report files. Whether it teaches
/// anything is the shapes-world end-to-end test's job.</summary>
public sealed class ConceptLearnerTests
{
    private static ClipPipeline Golden() => ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

    private static (IReadOnlyList<TeachableConcept> Concepts, ReferenceClasses Reference) Inputs(params string[] names)
    {
        var sources = new ConceptSources(32, () => throw new InvalidOperationException("no emoji here"));
        var descriptions = new Dictionary<string, string> { ["moongate"] = "a large gray ring on a green background", ["zorblet"] = "three red hearts" };
        var concepts = descriptions.Select(c =>
        {
            var (images, sourceNames) = sources.Images($"shapes:{c.Key}", ".");
            return new TeachableConcept(names.Length > 0 ? names[descriptions.Keys.ToList().IndexOf(c.Key)] : c.Key, [c.Value], images, sourceNames);
        }).ToList();
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
    public void Learning_tries_every_configuration_and_chooses_on_the_validation_images()
    {
        var (concepts, reference) = Inputs();
        using var result = new ConceptLearner(Options(noiseControl: true)).Learn(Golden, concepts, reference);
        Assert.Equal(TrialSelection.Validation, result.Selection);
        Assert.Equal([TrainMode.Image, TrainMode.Image, TrainMode.Token, TrainMode.Token], result.Trials.Select(t => t.Configuration.Train));
        var split = result.Split;
        foreach (var trial in result.Trials)
        {
            var validation = trial.Hits.On(split.ConceptValidation, split.ReferenceValidation);
            AssertSame(validation, trial.Selection);
            AssertSame(trial.Hits.On(split.ConceptTest, split.ReferenceTest), trial.After);
            Assert.Equal(validation.MeanNameTop1 - result.BeforeSelection.MeanNameTop1, trial.TargetGain, 9);
            Assert.Equal(result.BeforeSelection.ReferenceTop1 - validation.ReferenceTop1, trial.Forgetting, 9);
            Assert.Equal(trial.Forgetting <= 0.5, trial.WithinBound);
            Assert.NotEmpty(trial.Losses);
        }
        var eligible = result.Trials.Where(t => t.WithinBound).ToList();
        if (eligible.Count > 0) Assert.Equal(eligible.Max(t => t.TargetGain), result.Chosen.TargetGain);
        // The control runs the same grid and is chosen by the same rule.
        Assert.NotNull(result.NoiseGrid);
        Assert.Equal(result.Trials.Select(t => t.Configuration), result.NoiseGrid.Trials.Select(t => t.Configuration));
        Assert.Contains(result.NoiseGrid.Chosen, result.NoiseGrid.Trials);
        Assert.Equal([2L * 2, 3, 32, 32], result.Inversion.Inverted.shape);
        Assert.Equal([24, 24], split.ConceptTest.Select(images => images.Length));
    }

    private static void AssertSame(KnowledgeMeasurement expected, KnowledgeMeasurement actual)
    {
        Assert.Equal(expected.Concepts, actual.Concepts);
        Assert.Equal(expected.ReferenceTop1, actual.ReferenceTop1);
    }

    /// <summary>Replaces the given images of each concept (and of the reference set) by noise.</summary>
    private static (IReadOnlyList<TeachableConcept>, ReferenceClasses) WithNoise(IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        IReadOnlyList<int[]> conceptImages, int[] referenceImages)
    {
        var generator = new Generator(99);
        Tensor Scrambled(Tensor images, int[] rows)
        {
            var copy = images.clone();
            if (rows.Length > 0) copy.index_copy_(0, tensor(rows.Select(i => (long)i).ToArray()), rand([rows.Length, 3, images.shape[2], images.shape[3]], generator: generator));
            return copy;
        }
        return (concepts.Select((concept, c) => concept with { RealImages = Scrambled(concept.RealImages, conceptImages[c]) }).ToList(),
            reference with { Images = Scrambled(reference.Images, referenceImages) });
    }

    [Theory]
    [InlineData(TrialSelection.Validation)]
    [InlineData(TrialSelection.Inverted)]
    public void The_choice_reads_no_test_image(TrialSelection selection)
    {
        var (concepts, reference) = Inputs();
        var options = Options() with { TrainModes = [TrainMode.Image], LearningRates = [1e-4, 1e-2], Selection = selection, HeldOutInvertedPerConcept = 2 };
        using var original = new ConceptLearner(options).Learn(Golden, concepts, reference);
        var split = original.Split;
        // Every test image becomes noise: what the choice saw must not change by a digit.
        var (scrambledConcepts, scrambledReference) = WithNoise(concepts, reference, split.ConceptTest, split.ReferenceTest);
        using var scrambled = new ConceptLearner(options).Learn(Golden, scrambledConcepts, scrambledReference);

        Assert.Equal(original.Trials.Select(t => (t.TargetGain, t.Forgetting, t.WithinBound)), scrambled.Trials.Select(t => (t.TargetGain, t.Forgetting, t.WithinBound)));
        Assert.Equal(original.Chosen.Configuration.LearningRate, scrambled.Chosen.Configuration.LearningRate);
        if (selection == TrialSelection.Inverted)
        {
            // Held-out inverted images choose: no real image of a concept is read, so all of them are test images.
            Assert.All(split.ConceptValidation, Assert.Empty);
            Assert.Equal([40, 40], split.ConceptTest.Select(images => images.Length));
            Assert.NotEmpty(split.ReferenceValidation);
            Assert.Equal([2L * 4, 3, 32, 32], original.Inversion.Inverted.shape);
        }
    }

    [Fact]
    public void The_model_is_read_once_and_every_trial_teaches_a_copy_that_leaves_the_base_as_it_was()
    {
        var (concepts, reference) = Inputs();
        var options = Options(noiseControl: true) with { TrainModes = [TrainMode.Image] };
        var loads = 0;
        using (var loaded = new ConceptLearner(options).Learn(() => { loads++; return Golden(); }, concepts, reference))
        {
            Assert.Equal(1, loads);
            Assert.Equal(2, loaded.Grid.Trials.Count);
            Assert.Equal(2, loaded.NoiseGrid!.Trials.Count);
        }

        using var baseModel = Golden();
        using var before = baseModel.EncodeTexts(["moongate", "a large gray ring on a green background"]);
        using var result = new ConceptLearner(options).Learn(baseModel, concepts, reference);
        using var after = baseModel.EncodeTexts(["moongate", "a large gray ring on a green background"]);
        Assert.True(after.equal(before).all().item<bool>(), "teaching changed the base model");
        Assert.NotSame(baseModel, result.Model);
        Assert.NotEqual(baseModel.Identity, result.Model.Identity);
    }

    [Fact]
    public void Select_none_takes_one_configuration_and_refuses_a_grid_before_loading_anything()
    {
        var (concepts, reference) = Inputs();
        var loads = 0;
        var error = Assert.Throws<OptionException>(() => new ConceptLearner(Options() with { Selection = TrialSelection.None })
            .Learn(() => { loads++; return Golden(); }, concepts, reference));
        Assert.Contains("--select none", error.Message);
        Assert.Equal(0, loads);

        using var result = new ConceptLearner(Options() with { Selection = TrialSelection.None, TrainModes = [TrainMode.Image], LearningRates = [1e-4] })
            .Learn(Golden, concepts, reference);
        Assert.Single(result.Trials);
        AssertSame(result.Chosen.After, result.Chosen.Selection);
        Assert.Equal(reference.Labels.Count, result.Split.ReferenceTest.Length);
    }

    [Fact]
    public void A_name_token_mode_cannot_take_stops_the_run_before_inverting_or_leaves_token_mode_out_of_a_grid()
    {
        var (concepts, reference) = Inputs("<|endoftext|>", "zorblet");
        var inversionSteps = 0;
        var learner = new ConceptLearner(Options() with { TrainModes = [TrainMode.Token] })
        {
            InversionProgress = new SynchronousProgress<InversionProgress>(_ => inversionSteps++),
        };
        var error = Assert.Throws<OptionException>(() => learner.Learn(Golden, concepts, reference));
        Assert.Contains("\"<|endoftext|>\"", error.Message);
        Assert.Equal(0, inversionSteps);

        using var result = new ConceptLearner(Options() with { TrainModes = [TrainMode.Image, TrainMode.Token], LearningRates = [1e-4] }).Learn(Golden, concepts, reference);
        Assert.All(result.Trials, trial => Assert.Equal(TrainMode.Image, trial.Configuration.Train));
        Assert.Contains(result.Notes, note => note.Contains("token") && note.Contains("\"<|endoftext|>\""));
    }

    [Fact]
    public void A_name_of_several_words_is_taught_as_one_new_token()
    {
        var (concepts, reference) = Inputs("moon gate", "zorblet");
        using var result = new ConceptLearner(Options() with { TrainModes = [TrainMode.Token], LearningRates = [1e-3] }).Learn(Golden, concepts, reference);
        Assert.Empty(result.Notes);
        Assert.Equal(TrainMode.Token, Assert.Single(result.Trials).Configuration.Train);
        using var golden = Golden();
        var taught = ((ClipPipeline)result.Model).Tokenizer;
        Assert.Equal(golden.Tokenizer.VocabularySize + 2, taught.VocabularySize);
        Assert.Equal([.. golden.Tokenizer.Encode("a"), golden.Tokenizer.VocabularySize], taught.Encode("a Moon  Gate"));
    }

    [Fact]
    public void Each_concept_taught_alone_trains_on_its_own_images_and_is_chosen_on_its_own_gain()
    {
        var (concepts, reference) = Inputs();
        var options = Options(noiseControl: true) with { TrainModes = [TrainMode.Image], LearningRates = [1e-4, 1e-3], FineTune = new FineTuneOptions { BatchSize = 1 } };
        var inversions = 0;
        var measuredBefore = 0;
        var learner = new ConceptLearner(options)
        {
            InversionProgress = new SynchronousProgress<InversionProgress>(p => { if (p.Latest.Step == 1) inversions++; }),
            // The base model is measured once for all the runs.
            Progress = new SynchronousProgress<string>(message => { if (message == "measuring the model before") measuredBefore++; }),
        };
        var taught = new List<TaughtAlone>();
        KnowledgeHits? before = null;
        IReadOnlyList<int[]>? test = null;
        Tensor? firstInversion = null;
        foreach (var (c, learnt) in learner.LearnEach(Golden, concepts, reference).Index())
        {
            using var result = learnt;
            Assert.Equal([c], result.Taught);
            // Batches of one over its own 2 images: 2 steps, where both concepts together take 4.
            Assert.All(result.Trials, trial => Assert.Equal(2, trial.Losses.Count));
            foreach (var trial in result.Trials)
                Assert.Equal(trial.Selection.Concepts[c].NameTop1 - result.BeforeSelection.Concepts[c].NameTop1, trial.TargetGain, 9);
            firstInversion ??= result.Inversion.Inverted.clone();
            Assert.True(TensorAssert.Identical(firstInversion, result.Inversion.Inverted), "every run fine-tunes on the one inversion");
            taught.Add(TaughtAlone.Of(result));
            (before, test) = (result.BeforeHits, result.Split.ConceptTest);
        }
        Assert.Equal(1, inversions);
        Assert.Equal(1, measuredBefore);
        Assert.Equal(["moongate", "zorblet"], taught.Select(t => t.Name));

        var summary = new PerConceptSummary(taught, before!, test!);
        Assert.Equal(taught.Average(t => t.After.NameTop1 - t.Before.NameTop1), summary.Gain.Value, 9);
        Assert.InRange(summary.Gain.Value, summary.Gain.Low - 1e-9, summary.Gain.High + 1e-9);
        Assert.NotNull(summary.NoiseControlGain);
        Assert.Equal(taught.Max(t => t.ReferenceBefore - t.ReferenceAfter), summary.MostForgetting, 9);
        var markdown = summary.Markdown().Split('\n');
        Assert.StartsWith("| moongate | ", markdown[2]);
        Assert.StartsWith("| mean | ", markdown[4]);
        Assert.StartsWith("Name top-1 gain ", markdown[6]);
    }

    [Fact]
    public void Forgetting_can_be_measured_with_a_template_ensemble()
    {
        var (concepts, reference) = Inputs();
        var templated = reference.WithForgettingTemplates(PromptTemplates.Load("simple"));
        Assert.Equal(reference.PromptsPerClass, templated.PromptsPerClass);
        var options = Options() with { Selection = TrialSelection.None, TrainModes = [TrainMode.Image], LearningRates = [1e-4] };
        using var result = new ConceptLearner(options).Learn(Golden, concepts, templated);

        using var golden = Golden();
        var predictions = new ZeroShotProbe("reference", reference.Images, reference.Labels, reference.Names,
            reference.Names.Select(name => (IReadOnlyList<string>)PromptTemplates.Load("simple").Templates.Select(t => t.Replace("{}", name)).ToList()).ToList())
            .Measure(golden).Predictions;
        Assert.Equal(predictions.Zip(reference.Labels).Count(pair => pair.First == pair.Second) / (double)reference.Labels.Count, result.Before.ReferenceTop1, 9);
    }

    [Fact]
    public void Distillation_weights_join_the_grid_and_token_trials_take_none()
    {
        var (concepts, reference) = Inputs();
        using var result = new ConceptLearner(Options() with { LearningRates = [1e-4], DistillWeights = [0, 5] }).Learn(Golden, concepts, reference);
        Assert.Equal([new TrialConfiguration(TrainMode.Image, 1e-4), new TrialConfiguration(TrainMode.Image, 1e-4, 5), new TrialConfiguration(TrainMode.Token, 1e-4)],
            result.Trials.Select(t => t.Configuration));
        Assert.Equal("--train image, lr 1e-4, distill 5", result.Trials[1].Configuration.ToString());
        Assert.NotEqual(result.Trials[0].Losses, result.Trials[1].Losses);
    }

    [Fact]
    public void LoRA_in_learn_needs_every_trial_to_train_the_image_tower()
    {
        var options = Options() with { FineTune = new FineTuneOptions { Lora = new LoraOptions(4, 4) } };
        Assert.Contains("--lora", Assert.Throws<OptionException>(() => options.Validate()).Message);
        (options with { TrainModes = [TrainMode.Image] }).Validate();
        Assert.Contains("--distill", Assert.Throws<OptionException>(() => (Options() with { DistillWeights = [-1] }).Validate()).Message);
    }

    [Fact]
    public void The_report_carries_every_option_of_the_options_type()
    {
        var (concepts, reference) = Inputs();
        var options = Options() with { TrainModes = [TrainMode.Image], LearningRates = [1e-4], NameTemplate = "a {}" };
        using var result = new ConceptLearner(options).Learn(Golden, concepts, reference);
        using var folder = new TestPaths.TempFolder();
        AtomicFile.WriteDirectory(folder.File("report"), false, temporary => LearnReport.Create(temporary, result).Save(temporary));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.File("report"), "report.json")));
        var written = json.RootElement.GetProperty("options");

        // Every public instance property of the options records, at every depth, is in the report under its
        // snake_case name (left out only when null, as the report leaves out every absent value): a new option
        // cannot be forgotten.
        void Check(object recorded, JsonElement node, string path)
        {
            foreach (var property in recorded.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
                         .Where(property => property.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonIgnoreAttribute), true).Length == 0))
            {
                var name = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
                var live = property.GetValue(recorded);
                if (live is null) continue;
                Assert.True(node.TryGetProperty(name, out var value), $"{path}.{name} is not in the report");
                if (property.PropertyType.Namespace == typeof(LearnOptions).Namespace && property.PropertyType.IsClass && value.ValueKind == JsonValueKind.Object)
                    Check(live, value, $"{path}.{name}");
            }
        }
        Check(options, written, "options");
        Assert.Equal("a {}", written.GetProperty("name_template").GetString());
        Assert.Equal(options.Inversion.Steps, written.GetProperty("inversion").GetProperty("steps").GetInt32());
        Assert.Equal(options.Inversion.Augmentation.MaxRotationDegrees, written.GetProperty("inversion").GetProperty("augmentation").GetProperty("max_rotation_degrees").GetDouble());
        Assert.Equal("name_and_description", written.GetProperty("caption").GetString());
    }

    [Fact]
    public void The_report_has_the_documented_fields_and_a_self_contained_page()
    {
        var (concepts, reference) = Inputs();
        var options = Options(noiseControl: true) with { TrainModes = [TrainMode.Image], LearningRates = [1e-4] };
        using var result = new ConceptLearner(options).Learn(Golden, concepts, reference);
        using var folder = new TestPaths.TempFolder();
        var reportFolder = folder.File("report");
        AtomicFile.WriteDirectory(reportFolder, false, temporary =>
            LearnReport.Create(temporary, result).Save(temporary));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(reportFolder, "report.json")));
        var root = json.RootElement;
        Assert.Equal(4, root.GetProperty("schema_version").GetInt32());
        Assert.Equal(Path.GetFullPath(TestPaths.GoldenClip("model_a/hf")), Path.GetFullPath(root.GetProperty("model_path").GetString()!));
        Assert.Equal(result.BaseIdentity, root.GetProperty("model_identity").GetString());
        Assert.Equal("validation", root.GetProperty("selection").GetString());
        var concept = root.GetProperty("concepts")[0];
        Assert.Equal("moongate", concept.GetProperty("name").GetString());
        foreach (var block in new[] { "before", "after", "noise_control" })
        foreach (var field in new[] { "name_top1", "description_top1" })
            Assert.InRange(concept.GetProperty(block).GetProperty(field).GetDouble(), 0, 1);
        Assert.Equal(result.Before.Concepts[0].NameTop1, concept.GetProperty("before").GetProperty("name_top1").GetDouble(), 9);
        Assert.Equal(result.BeforeSelection.Concepts[0].NameTop1, concept.GetProperty("validation").GetProperty("before").GetProperty("name_top1").GetDouble(), 9);
        var validationSources = concept.GetProperty("split").GetProperty("validation").EnumerateArray().Select(e => e.GetString()).ToList();
        var testSources = concept.GetProperty("split").GetProperty("test").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(40, validationSources.Count + testSources.Count);
        Assert.Empty(validationSources.Intersect(testSources));
        Assert.StartsWith("shapes:moongate#", testSources[0]);
        Assert.Equal(result.Before.ReferenceTop1, root.GetProperty("reference").GetProperty("before_top1").GetDouble(), 9);
        Assert.Equal(result.Chosen.After.ReferenceTop1, root.GetProperty("reference").GetProperty("after_top1").GetDouble(), 9);
        var summary = root.GetProperty("summary");
        var gain = summary.GetProperty("gain");
        Assert.Equal(result.Chosen.After.MeanNameTop1 - result.Before.MeanNameTop1, gain.GetProperty("value").GetDouble(), 9);
        Assert.True(gain.GetProperty("low").GetDouble() <= gain.GetProperty("value").GetDouble() + 1e-9);
        Assert.True(gain.GetProperty("high").GetDouble() >= gain.GetProperty("value").GetDouble() - 1e-9);
        Assert.Equal(1, root.GetProperty("noise_control_trials").GetArrayLength());
        var trial = root.GetProperty("trials")[0];
        Assert.Equal(("image", 1e-4, 0.0), (trial.GetProperty("train").GetString(), trial.GetProperty("learning_rate").GetDouble(), trial.GetProperty("distill_weight").GetDouble()));
        foreach (var image in concept.GetProperty("inverted_images").EnumerateArray())
            Assert.True(File.Exists(Path.Combine(reportFolder, image.GetString()!)));
        var html = File.ReadAllText(Path.Combine(reportFolder, "report.html"));
        Assert.Contains("data:image/png;base64,", html);
        Assert.Contains("moongate", html);
        Assert.DoesNotContain("src=\"concept", html);
        var markdown = File.ReadAllLines(Path.Combine(reportFolder, "summary.md"));
        Assert.Equal($"| 2 concepts, 48 test images | name top-1 | description top-1 | reference top-1 ({reference.Names.Count} classes, {result.Split.ReferenceTest.Length} images) |", markdown[0]);
        Assert.StartsWith($"| before | {100 * result.Before.MeanNameTop1:F1} % [", markdown[2]);
        Assert.StartsWith($"| after (`--train image`, lr 1e-4) | {100 * result.Chosen.After.MeanNameTop1:F1} % [", markdown[3]);
        Assert.StartsWith("| noise control (`--train image`, lr 1e-4) |", markdown[4]);
        Assert.StartsWith("Name top-1 gain ", markdown[6]);
        Assert.Contains("--select validation", markdown[6]);
    }
}
