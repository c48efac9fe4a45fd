using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Top-1 accuracy within one true class (its recall).</summary>
/// <param name="Accuracy">Correct / Count, or null when the class has no images.</param>
/// <param name="ClassName">The class, as the data set names it.</param>
/// <param name="Count">How many evaluated images belong to the class.</param>
/// <param name="Correct">How many of them were classified as the class.</param>
public sealed record ClassAccuracy(string ClassName, int Count, int Correct, double? Accuracy);

/// <summary>How many images of <paramref name="TrueClass"/> were predicted (top-1) as <paramref name="PredictedClass"/>.</summary>
public sealed record ConfusedPair(string TrueClass, string PredictedClass, int Count);

/// <summary>Zero-shot classification metrics from a score matrix [N images, C classes] and the true class of each
/// image. Ties follow <see cref="Ranking"/>: equal scores are ordered by class index, lowest first. Top-k with k at
/// least the number of classes counts every image as correct (k is clamped to C).</summary>
public sealed class ClassificationMetrics
{
    private ClassificationMetrics(int[] predictions, double top1, double top5, double meanPerClassRecall,
        IReadOnlyList<ClassAccuracy> perClass, IReadOnlyList<ConfusedPair> mostConfused)
    {
        Predictions = predictions;
        Top1 = top1;
        Top5 = top5;
        MeanPerClassRecall = meanPerClassRecall;
        PerClass = perClass;
        MostConfused = mostConfused;
    }

    /// <summary>The top-1 class index of each image.</summary>
    public IReadOnlyList<int> Predictions { get; }

    /// <summary>Fraction of images whose true class ranks first.</summary>
    public double Top1 { get; }

    /// <summary>Fraction of images whose true class ranks among the first five (all, with five classes or fewer).</summary>
    public double Top5 { get; }

    /// <summary>Mean of the per-class top-1 accuracies over the classes that have images (at least one has: there is
    /// at least one image).</summary>
    public double MeanPerClassRecall { get; }

    /// <summary>One row per class, in class order.</summary>
    public IReadOnlyList<ClassAccuracy> PerClass { get; }

    /// <summary>Every (true, predicted) pair of distinct classes that occurs, by count descending, then true class index,
    /// then predicted class index.</summary>
    public IReadOnlyList<ConfusedPair> MostConfused { get; }

    public static ClassificationMetrics Compute(Tensor scores, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        var values = ReadScores(scores, labels, classNames.Count);
        var classes = classNames.Count;
        var count = labels.Count;

        var predictions = new int[count];
        var counts = new int[classes];
        var correct = new int[classes];
        var confusions = new Dictionary<(int True, int Predicted), int>();
        for (var n = 0; n < count; n++)
        {
            var predicted = Ranking.ArgMax(values.AsSpan(n * classes, classes));
            predictions[n] = predicted;
            counts[labels[n]]++;
            if (predicted == labels[n]) correct[labels[n]]++;
            else confusions[(labels[n], predicted)] = confusions.GetValueOrDefault((labels[n], predicted)) + 1;
        }

        var perClass = Enumerable.Range(0, classes)
            .Select(c => new ClassAccuracy(classNames[c], counts[c], correct[c], counts[c] == 0 ? null : (double)correct[c] / counts[c]))
            .ToList();
        var recalls = perClass.Where(row => row.Accuracy is not null).Select(row => row.Accuracy!.Value).ToList();
        var mostConfused = confusions
            .OrderByDescending(pair => pair.Value).ThenBy(pair => pair.Key.True).ThenBy(pair => pair.Key.Predicted)
            .Select(pair => new ConfusedPair(classNames[pair.Key.True], classNames[pair.Key.Predicted], pair.Value))
            .ToList();

        return new ClassificationMetrics(
            predictions,
            (double)correct.Sum() / count,
            TopK(values, labels, classes, 5),
            recalls.Average(),
            perClass,
            mostConfused);
    }

    /// <summary>Fraction of images whose true class is among the first <paramref name="k"/> (clamped to the number of
    /// classes).</summary>
    public static double TopKAccuracy(Tensor scores, IReadOnlyList<int> labels, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1");
        var classes = scores.dim() == 2 ? (int)scores.shape[1] : 0;
        return TopK(ReadScores(scores, labels, classes), labels, classes, k);
    }

    private static double TopK(float[] values, IReadOnlyList<int> labels, int classes, int k)
    {
        var hits = 0;
        for (var n = 0; n < labels.Count; n++)
            if (Ranking.RankOf(values.AsSpan(n * classes, classes), labels[n]) < k)
                hits++;
        return (double)hits / labels.Count;
    }

    private static float[] ReadScores(Tensor scores, IReadOnlyList<int> labels, int classes)
    {
        var values = Ranking.ReadMatrix(scores, nameof(scores));
        if (scores.shape[0] != labels.Count || scores.shape[1] != classes)
            throw new ArgumentException($"scores [{string.Join(", ", scores.shape)}] do not match {labels.Count} labels and {classes} classes", nameof(scores));
        if (labels.Count == 0)
            throw new ArgumentException("no images to score", nameof(labels));
        if (classes == 0)
            throw new ArgumentException("no classes to score", nameof(scores));
        foreach (var label in labels)
            if (label < 0 || label >= classes)
                throw new ArgumentException($"label {label} is not a class index below {classes}", nameof(labels));
        return values;
    }
}
