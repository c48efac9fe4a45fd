using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

public class ClassificationMetricsEvaluationTests
{
    private static Tensor Scores(float[][] rows) => tensor(rows.SelectMany(row => row).ToArray(), [rows.Length, rows[0].Length]);

    private static readonly string[] Names = ["ant", "bee", "cat", "dog"];

    // Five images over four classes; "dog" has no images.
    private static readonly float[][] Rows =
    [
        [0.9f, 0.1f, 0.0f, 0.0f], // ant -> ant
        [0.2f, 0.3f, 0.4f, 0.1f], // ant -> cat (true class third)
        [0.1f, 0.8f, 0.1f, 0.0f], // bee -> bee
        [0.0f, 0.1f, 0.7f, 0.9f], // cat -> dog (true class second)
        [0.3f, 0.0f, 0.6f, 0.1f], // cat -> cat
    ];

    [Fact]
    public void Computes_hand_checked_accuracies_recalls_and_confusions()
    {
        // Predictions: [0, 2, 1, 3, 2]; true: [0, 0, 1, 2, 2].
        int[] labels = [0, 0, 1, 2, 2];
        var metrics = ClassificationMetrics.Compute(Scores(Rows), labels, Names);

        Assert.Equal([0, 2, 1, 3, 2], metrics.Predictions);
        Assert.Equal(3.0 / 5, metrics.Top1, 12);
        Assert.Equal(1.0, metrics.Top5, 12); // four classes: top-5 is clamped to top-4, always a hit
        Assert.Equal(4.0 / 5, ClassificationMetrics.TopKAccuracy(Scores(Rows), labels, 2), 12); // image 1's true class is third

        // ant 1/2, bee 1/1, cat 1/2; dog has no images and is left out of the mean.
        Assert.Equal((0.5 + 1.0 + 0.5) / 3, metrics.MeanPerClassRecall, 12);
        Assert.Equal(
            [new ClassAccuracy("ant", 2, 1, 0.5), new ClassAccuracy("bee", 1, 1, 1.0), new ClassAccuracy("cat", 2, 1, 0.5), new ClassAccuracy("dog", 0, 0, null)],
            metrics.PerClass);
        Assert.Equal([new ConfusedPair("ant", "cat", 1), new ConfusedPair("cat", "dog", 1)], metrics.MostConfused);
    }

    [Fact]
    public void Most_confused_pairs_are_sorted_by_count_then_by_class_index()
    {
        // True classes 2, 0, 2, 2, 0 all predicted wrong: (2->1) twice, (0->1) and (0->2) and (2->0) once.
        float[][] rows =
        [
            [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1],
        ];
        var metrics = ClassificationMetrics.Compute(Scores(rows), [2, 0, 2, 2, 0], ["a", "b", "c"]);
        Assert.Equal(
            [new ConfusedPair("c", "b", 2), new ConfusedPair("a", "b", 1), new ConfusedPair("a", "c", 1), new ConfusedPair("c", "a", 1)],
            metrics.MostConfused);
    }

    [Fact]
    public void Ties_are_broken_by_lowest_class_index()
    {
        float[][] rows =
        [
            [0.5f, 0.5f, 0.1f],       // true 1 ties with class 0, which comes first: top-1 miss, top-2 hit
            [0.5f, 0.5f, 0.1f],       // true 0 wins the same tie: top-1 hit
            [0.2f, 0.9f, 0.9f],       // true 2 ties with class 1 for first place: top-1 miss, top-2 hit
        ];
        int[] labels = [1, 0, 2];
        var metrics = ClassificationMetrics.Compute(Scores(rows), labels, ["a", "b", "c"]);
        Assert.Equal([0, 0, 1], metrics.Predictions);
        Assert.Equal(1.0 / 3, metrics.Top1, 12);
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(Scores(rows), labels, 2), 12);

        // A four-way tie at the top: the k-th place goes to the k lowest indices only.
        float[][] tie = [[0.7f, 0.7f, 0.7f, 0.7f]];
        Assert.Equal(0.0, ClassificationMetrics.TopKAccuracy(Scores(tie), [3], 3), 12);
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(Scores(tie), [3], 4), 12);
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(Scores(tie), [2], 3), 12);
    }

    [Fact]
    public void K_larger_than_the_number_of_classes_counts_every_image()
    {
        float[][] rows = [[0.9f, 0.1f, 0.0f], [0.9f, 0.1f, 0.0f]];
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(Scores(rows), [2, 1], 10), 12);
        Assert.Equal(0.5, ClassificationMetrics.TopKAccuracy(Scores(rows), [2, 1], 2), 12);
    }

    [Fact]
    public void Rejects_no_images_non_finite_scores_and_labels_out_of_range()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute(zeros(0, 2), [], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute(tensor(new[] { float.NaN, 0f }, [1, 2]), [0], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute(tensor(new[] { 1f, 0f }, [1, 2]), [2], ["a", "b"]));
    }
}

public class RetrievalMetricsEvaluationTests
{
    // Image i owns captions 2i and 2i+1.
    private static readonly int[] CaptionImages = [0, 0, 1, 1, 2, 2];

    private static readonly float[] Similarity =
    [
        // c0    c1    c2    c3    c4    c5
        0.1f, 0.9f, 0.8f, 0.0f, 0.3f, 0.0f, // image 0: its second caption ranks first -> hit at 1 (ANY caption counts)
        0.7f, 0.6f, 0.2f, 0.1f, 0.5f, 0.3f, // image 1: its best caption c2 ranks fifth -> miss at 1, hit at 5
        0.1f, 0.2f, 0.3f, 0.1f, 0.5f, 0.5f, // image 2: c4 and c5 tie for first -> hit at 1
    ];

    [Fact]
    public void Recalls_match_the_hand_computed_3_image_6_caption_case()
    {
        var metrics = RetrievalMetrics.Compute(tensor(Similarity, [3, 6]), CaptionImages);

        Assert.Equal(2.0 / 3, metrics.ImageToTextR1, 12);
        Assert.Equal(1.0, metrics.ImageToTextR5, 12);
        Assert.Equal(1.0, metrics.ImageToTextR10, 12);

        // Columns: c0 [.1 .7 .1] image 0 second (tie with image 2, lower index wins the tie) -> miss;
        // c1 [.9 .6 .2] hit; c2 [.8 .2 .3] image 1 last -> miss; c3 [0 .1 .1] image 1 ties image 2 and wins -> hit;
        // c4 [.3 .5 .5] image 2 ties image 1 and loses -> miss; c5 [0 .3 .5] hit.
        Assert.Equal(3.0 / 6, metrics.TextToImageR1, 12);
        Assert.Equal(1.0, metrics.TextToImageR5, 12); // only three images: k is clamped
        Assert.Equal(1.0, metrics.TextToImageR10, 12);
    }

    [Fact]
    public void Recall_at_5_misses_a_pair_ranked_sixth()
    {
        // Seven images with one caption each; every pair matches (1) except pair 6, ranked last both ways.
        var values = new float[49];
        for (var i = 0; i < 7; i++) values[i * 7 + i] = 1;
        values[6 * 7 + 6] = -1;
        var metrics = RetrievalMetrics.Compute(tensor(values, [7, 7]), [0, 1, 2, 3, 4, 5, 6]);
        Assert.Equal(6.0 / 7, metrics.ImageToTextR1, 12);
        Assert.Equal(6.0 / 7, metrics.ImageToTextR5, 12);
        Assert.Equal(1.0, metrics.ImageToTextR10, 12);
        Assert.Equal(6.0 / 7, metrics.TextToImageR5, 12);
        Assert.Equal(1.0, metrics.TextToImageR10, 12);
    }
}
