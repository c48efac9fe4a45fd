using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>When an ASIF classification answers "unknown": below a given <see cref="Threshold"/>, or below one chosen
/// on <see cref="CalibrationSet"/> so that at most <see cref="MaxWrong"/> of its answered images are wrong. The
/// calibration images' class names must be among the evaluated classes.</summary>
public sealed record UnknownThresholdOptions
{
    public double? Threshold { get; init; }

    public ILabeledImageDataset? CalibrationSet { get; init; }

    public double MaxWrong { get; init; } = 0.1;
}

/// <summary>Zero-shot classification by an ASIF index, reported in the evaluation report's schema (the
/// <c>asif</c> block records the index and its settings; docs/evaluation-report.md).</summary>
public static class AsifEvaluation
{
    public static ClassificationReport EvaluateClassification(
        AsifIndex index,
        string indexPath,
        IImageEncoder imageEncoder,
        ITextEncoder textEncoder,
        ILabeledImageDataset dataset,
        ClassificationOptions options,
        AsifOptions asifOptions,
        UnknownThresholdOptions? unknown = null,
        IProgress<EvaluationProgress>? progress = null)
    {
        index.CheckEncoders(imageEncoder, textEncoder);
        AsifClassifier? classifier = null;
        float[]? testScores = null;
        var report = Evaluator.EvaluateClassification(dataset, options, new ModelInfo(Path.GetFullPath(indexPath), imageEncoder.Identity, textEncoder.Identity),
            RunEnvironment.Capture(imageEncoder.Device), (classNames, prompts, imagePaths) =>
            {
                classifier = AsifClassifier.Build(index, textEncoder, classNames, prompts, asifOptions, options.Cache, options.BatchSize, progress);
                var scores = Score(classifier, imageEncoder, imagePaths, options, progress);
                testScores = scores.data<float>().ToArray();
                return scores;
            });
        UnknownAnswerInfo? unknownInfo = null;
        if (unknown is not null)
        {
            var selected = options.Classes?.Apply(dataset) ?? dataset;
            var (threshold, calibrationSet) = unknown.Threshold is { } given
                ? (given, (string?)null)
                : (Calibrate(classifier!, imageEncoder, unknown, options, progress), unknown.CalibrationSet!.Location);
            var (best, correct) = BestAndCorrect(testScores!, classifier!.ClassNames.Count, selected.Images.Select(image => image.ClassIndex).ToList());
            var outcome = UnknownAnswer.Measure(threshold, best, correct);
            unknownInfo = new UnknownAnswerInfo(threshold, calibrationSet, calibrationSet is null ? null : unknown.MaxWrong,
                outcome.Accuracy, outcome.Unknown, outcome.Wrong);
        }
        var effectiveK = (int)Math.Min(asifOptions.NonZeros, index.Anchors.Count);
        return report with
        {
            Asif = new AsifInfo(Path.GetFullPath(indexPath), index.Anchors.Count, index.Storage.ToString().ToLowerInvariant(), effectiveK,
                asifOptions.Exponent, asifOptions.ClampNegatives, unknownInfo),
        };
    }

    /// <summary>Each image's best class score and whether that class is its label (ties: the lowest class index).</summary>
    public static (float[] Best, bool[] Correct) BestAndCorrect(float[] scores, int classes, IReadOnlyList<int> labels)
    {
        var best = new float[labels.Count];
        var correct = new bool[labels.Count];
        for (var n = 0; n < labels.Count; n++)
        {
            var row = scores.AsSpan(n * classes, classes);
            var predicted = 0;
            for (var c = 1; c < classes; c++)
                if (row[c] > row[predicted]) predicted = c;
            (best[n], correct[n]) = (row[predicted], predicted == labels[n]);
        }
        return (best, correct);
    }

    private static Tensor Score(AsifClassifier classifier, IImageEncoder imageEncoder, IReadOnlyList<string> imagePaths,
        ClassificationOptions options, IProgress<EvaluationProgress>? progress)
    {
        using var embeddings = BatchedEncoding.EncodeImages(imageEncoder, imagePaths, options.BatchSize, options.Cache, progress);
        return classifier.Predict(embeddings);
    }

    private static double Calibrate(AsifClassifier classifier, IImageEncoder imageEncoder, UnknownThresholdOptions unknown,
        ClassificationOptions options, IProgress<EvaluationProgress>? progress)
    {
        var calibration = unknown.CalibrationSet ?? throw new OptionException("an unknown threshold needs a value or a calibration set");
        var classIndex = classifier.ClassNames.Select((name, c) => (name, c)).ToDictionary(entry => entry.name, entry => entry.c, StringComparer.Ordinal);
        var labels = calibration.Images.Select(image => classIndex.TryGetValue(calibration.ClassNames[image.ClassIndex], out var c)
            ? c
            : throw new DatasetException($"{calibration.Location}: class '{calibration.ClassNames[image.ClassIndex]}' is not among the evaluated classes")).ToList();
        using var scores = Score(classifier, imageEncoder, calibration.Images.Select(image => image.Path).ToList(), options, progress);
        var (best, correct) = BestAndCorrect(scores.data<float>().ToArray(), classifier.ClassNames.Count, labels);
        return UnknownAnswer.Calibrate(best, correct, unknown.MaxWrong);
    }
}
