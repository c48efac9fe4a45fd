using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

/// <summary>The linear probe: it separates what is linearly separable, its validation split, and that its weight
/// decay is chosen on the validation split of the training set alone.</summary>
public sealed class LinearProbeEvaluationTests
{
    /// <summary>Three classes around three corners of a 5-D cube, not normalised, with noise: separable by a plane
    /// with an offset, but not by the direction of the features alone (class 2's mean is class 0's plus class 1's).</summary>
    private static (Tensor Features, int[] Labels) Clusters(int perClass, int seed) => Clusters([perClass, perClass, perClass], seed);

    private static (Tensor Features, int[] Labels) Clusters(int[] counts, int seed)
    {
        float[][] centres = [[2, 0, 0, 0, 0], [0, 2, 0, 0, 0], [2, 2, 0, 0, 0]];
        var random = new Random(seed);
        var values = new List<float>();
        var labels = new List<int>();
        for (var c = 0; c < centres.Length; c++)
            for (var n = 0; n < counts[c]; n++)
            {
                values.AddRange(centres[c].Select(x => x + (float)(random.NextDouble() - 0.5) * 0.6f));
                labels.Add(c);
            }
        return (tensor(values.ToArray(), [labels.Count, 5]), labels.ToArray());
    }

    [Fact]
    public void Separates_linearly_separable_clusters_on_unseen_examples()
    {
        var (train, trainLabels) = Clusters(20, seed: 1);
        var (test, testLabels) = Clusters(10, seed: 2);
        using var _ = train;
        using var __ = test;

        using var fit = LinearProbe.Fit(train, trainLabels, 3, new LinearProbeOptions { Steps = 300, Cache = null });
        using var scores = fit.Classifier.Scores(test);
        var metrics = ClassificationMetrics.Compute(scores, testLabels, ["a", "b", "c"]);

        Assert.Equal(1.0, metrics.Top1);
        Assert.Equal((48, 12), (fit.NumTrain, fit.NumValidation));
        // The coarse pass tries 7 values spread over the 97-value grid, in order; refinement adds at most 2 per span.
        Assert.Equal(Enumerable.Range(0, 7).Select(k => LinearProbe.DefaultWeightDecays[16 * k]), fit.Search.Take(7).Select(trial => trial.WeightDecay));
        Assert.InRange(fit.Search.Count, 7, 7 + 2 * 4);
        Assert.Contains(fit.WeightDecay, fit.Search.Select(trial => trial.WeightDecay));
        var best = fit.Search.Max(trial => trial.ValidationAccuracy);
        Assert.Equal(best, fit.Search.Single(trial => trial.WeightDecay == fit.WeightDecay).ValidationAccuracy);
    }

    [Fact]
    public void Weight_decay_that_flattens_the_probe_loses_on_validation()
    {
        // Class 0 outnumbers the others six to one: a probe flattened by its penalty answers class 0 by its bias alone.
        var (train, labels) = Clusters([30, 5, 5], seed: 3);
        using var _ = train;

        using var fit = LinearProbe.Fit(train, labels, 3, new LinearProbeOptions { Steps = 200, WeightDecays = [1e-6, 1e3], Cache = null });

        Assert.Equal(1e-6, fit.WeightDecay);
        Assert.Equal(2, fit.Search.Count);
        Assert.Equal(1.0, fit.Search[0].ValidationAccuracy);
        Assert.Equal(6 / 8.0, fit.Search[1].ValidationAccuracy);
    }

    [Fact]
    public void Split_is_stratified_seeded_and_keeps_a_training_example_per_class()
    {
        int[] labels = [.. Enumerable.Repeat(0, 10), .. Enumerable.Repeat(1, 5), 2];

        var (train, validation) = LinearProbe.Split(labels, 0.2, seed: 7);
        var again = LinearProbe.Split(labels, 0.2, seed: 7);

        Assert.Equal([2, 1, 0], new[] { 0, 1, 2 }.Select(c => validation.Count(i => labels[i] == c)));
        Assert.Equal(Enumerable.Range(0, labels.Length), train.Concat(validation).Order());
        Assert.Equal(train, again.Train);
        Assert.Equal(validation, again.Validation);
        Assert.Contains(15, train);
        var error = Assert.Throws<OptionException>(() => LinearProbe.Split([0, 1, 2], 0.2, seed: 0));
        Assert.StartsWith("--val-fraction 0.2: holds out no validation image from 3 training images", error.Message);
    }

    private static void WriteColours(string root, (string Class, byte R, byte G, byte B)[] images)
    {
        for (var i = 0; i < images.Length; i++)
            MeanColourImageEncoder.WritePng(Path.Combine(root, images[i].Class, $"{i}.png"), images[i].R, images[i].G, images[i].B);
    }

    private static (string Class, byte R, byte G, byte B)[] TrainingColours() =>
        Enumerable.Range(0, 8).SelectMany(i => new[]
        {
            ("blue", (byte)(10 * i), (byte)(5 * i), (byte)255),
            ("orange", (byte)255, (byte)(120 + 5 * i), (byte)(10 * i)),
            ("red", (byte)255, (byte)(5 * i), (byte)(10 * i)),
        }).ToArray();

    [Fact]
    public void Weight_decay_is_chosen_without_the_test_set()
    {
        using var temp = new TestPaths.TempFolder();
        WriteColours(temp.File("train"), TrainingColours());
        // Two test sets with the same classes: one painted true, one painted with every class's colour swapped.
        WriteColours(temp.File("test_true"), [("blue", 0, 0, 240), ("orange", 250, 130, 0), ("red", 240, 10, 10)]);
        WriteColours(temp.File("test_swapped"), [("blue", 240, 10, 10), ("orange", 0, 0, 240), ("red", 250, 130, 0)]);
        var train = ImageFolderDataset.Load(temp.File("train"));
        var options = new LinearProbeOptions { Steps = 200, Cache = null, ModelPath = "/m" };

        var honest = LinearProbe.Evaluate(new MeanColourImageEncoder(), train, ImageFolderDataset.Load(temp.File("test_true")), options);
        var swapped = LinearProbe.Evaluate(new MeanColourImageEncoder(), train, ImageFolderDataset.Load(temp.File("test_swapped")), options);

        Assert.Equal(1.0, honest.Metrics.Top1);
        Assert.Equal(0.0, swapped.Metrics.Top1);
        Assert.Equal(honest.WeightDecay, swapped.WeightDecay);
        Assert.Equal(honest.Search, swapped.Search);
        Assert.Equal((18, 6, 3, 3), (honest.Dataset.NumTrain, honest.Dataset.NumValidation, honest.Dataset.NumTest, honest.Dataset.NumClasses));

        var path = temp.File("probe.json");
        honest.Save(path);
        var loaded = Assert.IsType<LinearProbeReport>(EvaluationReport.Load(path));
        Assert.Equal(honest.WeightDecay, loaded.WeightDecay);
        var result = ClipBenchmarkResult.FromLinearProbe(honest, "colours", "m", "/m");
        Assert.Equal(["lp_acc1", "lp_acc5", "lp_mean_per_class_recall", "weight_decay", "epochs", "seed", "fewshot_k", "normalized"], result.Metrics.Select(pair => pair.Key));
        Assert.Equal(1.0, result["lp_acc1"]);
        Assert.True(double.IsNaN((double)result["lp_acc5"]!));
        Assert.Equal(honest.WeightDecay, result["weight_decay"]);
        Assert.Equal(200, result["epochs"]);
        Assert.Equal(-1, result["fewshot_k"]);
        Assert.Equal(true, result["normalized"]);
    }

    [Fact]
    public void Refuses_a_test_set_with_other_classes_and_bad_settings()
    {
        using var temp = new TestPaths.TempFolder();
        WriteColours(temp.File("train"), TrainingColours());
        WriteColours(temp.File("test"), [("blue", 0, 0, 240), ("red", 240, 10, 10)]);
        var train = ImageFolderDataset.Load(temp.File("train"));

        var error = Assert.Throws<DatasetException>(() =>
            LinearProbe.Evaluate(new MeanColourImageEncoder(), train, ImageFolderDataset.Load(temp.File("test")), new LinearProbeOptions { Cache = null }));
        Assert.StartsWith($"{temp.File("test")}: its classes (blue, red) are not the training set's", error.Message);
        Assert.Equal("--val-fraction: must be between 0 and 1 (exclusive), got 1",
            Assert.Throws<OptionException>(() => new LinearProbeOptions { ValidationFraction = 1 }.Validate()).Message);
        Assert.StartsWith("--weight-decays: must increase strictly",
            Assert.Throws<OptionException>(() => new LinearProbeOptions { WeightDecays = [1, 0.1] }.Validate()).Message);
    }
}
