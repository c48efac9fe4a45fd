using Molyneux.Asif;
using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

/// <summary>Classification, explanation and the unknown answer with the colour world, whose right answers are known.</summary>
public sealed class AsifClassifierTests
{
    private static readonly AsifOptions Options = new() { NonZeros = 6, Exponent = 8, ClampNegatives = true };

    private static AsifClassifier Classifier(AsifColourWorld world, AsifIndex index, params string[] classes) =>
        AsifClassifier.Build(index, world.TextEncoder, classes, classes.Select(name => (IReadOnlyList<string>)[$"a photo of {name}", name]).ToList(), Options);

    private static int Predict(AsifColourWorld world, AsifClassifier classifier, string image)
    {
        using var embedding = world.ImageEncoder.EncodeImages([image]);
        using var scores = classifier.Predict(embedding);
        return (int)scores.argmax(1).item<long>();
    }

    [Fact]
    public void Adding_a_new_concepts_anchors_makes_it_recognizable_at_once_and_removing_them_undoes_it()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue", "yellow"));
        string[] classes = ["red", "green", "blue", "yellow", "purple"];
        var purpleImage = world.Image("purple", 2);

        // Without purple anchors the word "purple" matches no caption, so its relative representation is empty.
        var before = Classifier(world, index, classes);
        Assert.NotEqual(4, Predict(world, before, purpleImage));
        Assert.All(before.PromptRelatives.WeightsOf(9).ToArray(), weight => Assert.Equal(0f, weight));
        Assert.Equal(0, Predict(world, before, world.Image("red", 2)));

        using var grown = index.Add(world.ImageEncoder, world.TextEncoder, world.Anchors("purple"));
        Assert.Equal(4, Predict(world, Classifier(world, grown, classes), purpleImage));
        Assert.Equal(0, Predict(world, Classifier(world, grown, classes), world.Image("red", 2)));

        using var shrunk = grown.Remove(pair => pair.Caption.Contains("purple"));
        Assert.NotEqual(4, Predict(world, Classifier(world, shrunk, classes), purpleImage));
    }

    [Fact]
    public void The_explanation_lists_the_anchors_behind_a_prediction_whose_contributions_sum_to_its_score()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue", "yellow"));
        var classifier = Classifier(world, index, "red", "green", "blue", "yellow");
        using var embedding = world.ImageEncoder.EncodeImages([world.Image("blue", 2)]);
        var images = classifier.RepresentImages(embedding);
        var explanation = classifier.Explain(images, 0, top: 100);
        Assert.Equal("blue", explanation.ClassName);
        using var scores = classifier.Scores(images);
        Assert.Equal(scores[0, 2].item<float>(), explanation.Score, 5);
        Assert.Equal(explanation.Score, explanation.Anchors.Sum(anchor => anchor.Contribution), 4);
        Assert.All(explanation.Anchors.Take(3), anchor => Assert.Equal("a blue square", anchor.Caption));
        Assert.Equal(index.Anchors[explanation.Anchors[0].Anchor].ImagePath, explanation.Anchors[0].ImagePath);
        Assert.True(explanation.Anchors.Zip(explanation.Anchors.Skip(1)).All(pair => pair.First.Contribution >= pair.Second.Contribution));
        Assert.Equal(1f, explanation.Anchors[0].TextSimilarity, 5);

        var forced = classifier.Explain(images, 0, classIndex: 0, top: 3);
        Assert.Equal("red", forced.ClassName);
        Assert.Equal(scores[0, 0].item<float>(), forced.Score, 5);
    }

    [Fact]
    public void A_class_scores_its_best_prompt_or_the_mean_of_its_prompts()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue"));
        IReadOnlyList<IReadOnlyList<string>> prompts = [["red", "green"], ["blue"]];
        using var embedding = world.ImageEncoder.EncodeImages([world.Image("green", 1), world.Image("red", 0)]);
        var max = AsifClassifier.Build(index, world.TextEncoder, ["warm", "cold"], prompts, Options);
        var mean = AsifClassifier.Build(index, world.TextEncoder, ["warm", "cold"], prompts, Options with { Ensemble = TemplateEnsemble.Mean });
        var images = max.RepresentImages(embedding);
        using var perPrompt = images.Products(max.PromptRelatives);
        using var maxScores = max.Scores(images);
        using var meanScores = mean.Scores(images);
        Assert.True(TensorAssert.Identical(perPrompt[.., ..2].amax([1]), maxScores[.., 0]));
        Assert.True((perPrompt[.., ..2].mean([1]) - meanScores[.., 0]).abs().max().item<float>() < 1e-6);
        Assert.True(TensorAssert.Identical(perPrompt[.., 2], maxScores[.., 1]));
    }

    [Fact]
    public void The_unknown_threshold_is_the_lowest_that_keeps_answered_images_right_often_enough()
    {
        float[] scores = [0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f];
        bool[] correct = [true, true, false, true, false, false];
        // Answering the top 4 gives 1 wrong in 4 (25%); the top 5, 2 in 5 (40%).
        Assert.Equal(0.6f, UnknownAnswer.Calibrate(scores, correct, maxWrong: 0.25));
        Assert.Equal(0.8f, UnknownAnswer.Calibrate(scores, correct, maxWrong: 0.0));
        Assert.Equal(new SelectiveOutcome(3 / 6.0, 2 / 6.0, 1 / 6.0), UnknownAnswer.Measure(0.6, scores, correct));
        // Nothing meets the target: everything is unknown.
        var never = UnknownAnswer.Calibrate([0.5f], [false], maxWrong: 0.1);
        Assert.Equal(new SelectiveOutcome(0, 1, 0), UnknownAnswer.Measure(never, [0.5f], [false]));
        // Tied scores are answered together.
        Assert.Equal(0.9f, UnknownAnswer.Calibrate([0.9f, 0.5f, 0.5f], [true, true, false], maxWrong: 0.2));
    }

    [Fact]
    public void Classification_through_the_evaluator_reports_the_asif_settings_and_the_unknown_outcome()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue"));
        var root = world.Folder.File("test");
        foreach (var colour in new[] { "red", "green", "blue" })
            for (var variant = 0; variant < 2; variant++)
                File.Copy(world.Image(colour, variant), Path.Combine(Directory.CreateDirectory(Path.Combine(root, colour)).FullName, $"{variant}.png"));
        var dataset = ImageFolderDataset.Load(root);
        var options = new ClassificationOptions { Templates = PromptTemplates.Load("name"), Cache = null };
        var report = AsifEvaluation.EvaluateClassification(index, world.Folder.File("index"), world.ImageEncoder, world.TextEncoder, dataset,
            options, Options, new UnknownThresholdOptions { Threshold = 0.5 });
        Assert.Equal(1.0, report.Metrics.Top1);
        Assert.Equal(new AsifInfo(world.Folder.File("index"), 9, "fp32", 6, 8, true, report.Asif!.Unknown), report.Asif);
        Assert.Equal(0.5, report.Asif.Unknown!.Threshold);
        Assert.Equal(1.0, report.Asif.Unknown.Accuracy + report.Asif.Unknown.Unknown + report.Asif.Unknown.Wrong, 9);
        var reloaded = (ClassificationReport)EvaluationReport.Load(SaveReport(world, report));
        Assert.Equal(report.Asif, reloaded.Asif);
    }

    private static string SaveReport(AsifColourWorld world, ClassificationReport report)
    {
        var path = world.Folder.File("report.json");
        report.Save(path);
        return path;
    }
}
