using Molyneux.Runtime;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Linear-probe evaluation (CLIP paper, appendix A.3; CLIP_benchmark's <c>linear_probe</c> task): how well a
/// linear classifier on the frozen image features separates the classes. The L2 weight (weight decay) is chosen
/// the way CLIP_benchmark chooses it: a validation split is held out of the training set, 7 values spread over the
/// log-spaced grid are tried, then the best is refined by comparing it with its neighbours at 8, 4, 2 and 1 grid
/// steps; the probe is refitted with the winner on training and validation examples together and measured on the
/// test set once. The test set plays no part in the choice: <see cref="Fit"/> never sees it.
///
/// Differences from CLIP_benchmark, each for determinism: full-batch Adam from zero weights (not mini-batch AdamW
/// from a random start), an L2 penalty in the loss (not AdamW's decoupled decay), a validation split stratified by
/// class, and ties between equal validation accuracies broken by the lower validation cross-entropy, then the smaller
/// weight decay (CLIP_benchmark keeps the first tried).</summary>
public static class LinearProbe
{
    /// <summary>CLIP_benchmark's grid, numpy's <c>logspace(-6, 2, num=97)</c>: 10^(−6 + 8i/96), i = 0 … 96.</summary>
    public static IReadOnlyList<double> DefaultWeightDecays { get; } =
        Enumerable.Range(0, 97).Select(i => Math.Pow(10, -6 + 8.0 * i / 96)).ToArray();

    private const int CoarseValues = 7;

    /// <summary>Holds out <paramref name="fraction"/> of each class's examples (rounded, at least none, at most all but
    /// one) for validation, chosen at random with <paramref name="seed"/>. Returns example indices, each list in
    /// increasing order.</summary>
    /// <exception cref="OptionException">No class has two examples, so nothing can be held out.</exception>
    public static (IReadOnlyList<int> Train, IReadOnlyList<int> Validation) Split(IReadOnlyList<int> labels, double fraction, int seed)
    {
        var random = new Random(seed);
        var validation = new List<int>();
        foreach (var members in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(group => group.Key))
        {
            var shuffled = members.ToArray();
            random.Shuffle(shuffled);
            var held = Math.Min((int)Math.Round(fraction * shuffled.Length, MidpointRounding.AwayFromZero), shuffled.Length - 1);
            validation.AddRange(shuffled.Take(held));
        }
        if (validation.Count == 0)
            throw new OptionException($"--val-fraction {fraction}: holds out no validation image from {labels.Count} training images (each class keeps at least one); add images or raise it");
        validation.Sort();
        var heldOut = validation.ToHashSet();
        return (Enumerable.Range(0, labels.Count).Where(i => !heldOut.Contains(i)).ToList(), validation);
    }

    /// <summary>Splits <paramref name="features"/> [N, D] (already normalised if wanted) into training and validation
    /// parts, chooses the weight decay on the validation part and refits on all N.</summary>
    public static LinearProbeFit Fit(Tensor features, IReadOnlyList<int> labels, int classes, LinearProbeOptions options)
    {
        options.Validate();
        if (features.dim() != 2 || features.shape[0] != labels.Count)
            throw new ArgumentException($"features [{string.Join(", ", features.shape)}] do not match {labels.Count} labels", nameof(features));
        var (trainIndices, validationIndices) = Split(labels, options.ValidationFraction, options.Seed);
        var device = options.Device ?? CPU;
        using var all = features.to(ScalarType.Float32).to(device);
        using var train = Rows(all, trainIndices);
        using var validation = Rows(all, validationIndices);
        var trainLabels = trainIndices.Select(i => labels[i]).ToList();
        var validationLabels = validationIndices.Select(i => labels[i]).ToList();

        var grid = options.WeightDecays;
        var trials = new Dictionary<int, (int Correct, double Loss)>();
        var order = new List<WeightDecayTrial>();
        (int Correct, double Loss) Try(int index)
        {
            if (trials.TryGetValue(index, out var known)) return known;
            using var classifier = LogisticRegression.Train(train, trainLabels, classes, grid[index], options.Steps, options.LearningRate);
            using var scores = classifier.Scores(validation);
            var predictions = Predictions(scores);
            var correct = predictions.Where((predicted, n) => predicted == validationLabels[n]).Count();
            var result = (correct, classifier.CrossEntropy(validation, validationLabels));
            trials[index] = result;
            order.Add(new WeightDecayTrial(grid[index], (double)correct / validationLabels.Count, result.Item2));
            return result;
        }
        int Best(IEnumerable<int> candidates) => candidates
            .Select(index => (Index: index, Trial: Try(index)))
            .ToList()
            .OrderByDescending(entry => entry.Trial.Correct).ThenBy(entry => entry.Trial.Loss).ThenBy(entry => entry.Index)
            .First().Index;

        var last = grid.Count - 1;
        var peak = Best(grid.Count <= CoarseValues
            ? Enumerable.Range(0, grid.Count)
            : Enumerable.Range(0, CoarseValues).Select(k => (int)Math.Round((double)k * last / (CoarseValues - 1))).Distinct());
        // Half the coarse spacing first (8 steps on the 97-value grid), halved until neighbours are adjacent.
        for (var span = grid.Count <= CoarseValues ? 0 : Math.Max(1, last / ((CoarseValues - 1) * 2)); span > 0; span /= 2)
            peak = Best([Math.Max(peak - span, 0), peak, Math.Min(peak + span, last)]);

        var final = LogisticRegression.Train(all, labels, classes, grid[peak], options.Steps, options.LearningRate);
        return new LinearProbeFit(final, grid[peak], order, trainIndices.Count, validationIndices.Count);
    }

    /// <summary>Encodes both image sets (batched, through the cache), normalises the features when asked, fits the probe
    /// on <paramref name="train"/> and measures it on <paramref name="test"/>, whose classes must be the same, in
    /// the same order.</summary>
    public static LinearProbeReport Evaluate(
        IImageEncoder encoder,
        ILabeledImageDataset train,
        ILabeledImageDataset test,
        LinearProbeOptions options,
        IProgress<EvaluationProgress>? progress = null)
    {
        options.Validate();
        if (!train.ClassNames.SequenceEqual(test.ClassNames, StringComparer.Ordinal))
            throw new DatasetException($"{test.Location}: its classes ({string.Join(", ", test.ClassNames)}) are not the training set's ({train.Location}: {string.Join(", ", train.ClassNames)}); a linear probe needs the same classes in the same order");
        if (train.Images.Count == 0) throw new DatasetException($"{train.Location}: no training images");
        if (test.Images.Count == 0) throw new DatasetException($"{test.Location}: no test images");
        var classNames = train.ClassNames;

        using var trainFeatures = Features(encoder, train, options, progress);
        using var testFeatures = Features(encoder, test, options, progress);
        var trainLabels = train.Images.Select(image => image.ClassIndex).ToList();
        var testLabels = test.Images.Select(image => image.ClassIndex).ToList();
        using var fit = Fit(trainFeatures, trainLabels, classNames.Count, options);
        using var scores = fit.Classifier.Scores(testFeatures);
        using var cpuScores = scores.cpu();
        var metrics = ClassificationMetrics.Compute(cpuScores, testLabels, classNames);

        return new LinearProbeReport
        {
            CreatedUtc = DateTime.UtcNow,
            Model = new ModelInfo(options.ModelPath, encoder.Identity, encoder.Identity),
            Environment = RunEnvironment.Capture(encoder.Device),
            Dataset = new LinearProbeDatasetInfo(train.Location, test.Location, fit.NumTrain, fit.NumValidation, test.Images.Count, classNames.Count),
            Options = new LinearProbeOptionsInfo(options.ValidationFraction, options.Seed, options.Steps, options.LearningRate, options.NormalizeFeatures, options.WeightDecays),
            WeightDecay = fit.WeightDecay,
            Search = fit.Search,
            Metrics = new ClassificationMetricsInfo(metrics.Top1, metrics.Top5, metrics.MeanPerClassRecall),
            PerClass = metrics.PerClass,
            MostConfused = metrics.MostConfused.Take(options.MostConfusedLimit).ToList(),
        };
    }

    private static Tensor Features(IImageEncoder encoder, ILabeledImageDataset dataset, LinearProbeOptions options, IProgress<EvaluationProgress>? progress)
    {
        var embeddings = BatchedEncoding.EncodeImages(encoder, dataset.Images.Select(image => image.Path).ToList(), options.BatchSize, options.Cache, progress);
        if (!options.NormalizeFeatures) return embeddings;
        using (embeddings) return Cosine.Normalize(embeddings);
    }

    private static Tensor Rows(Tensor matrix, IReadOnlyList<int> indices)
    {
        using var index = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64, matrix.device);
        return matrix.index_select(0, index);
    }

    private static int[] Predictions(Tensor scores)
    {
        var values = Ranking.ReadMatrix(scores, nameof(scores));
        var classes = (int)scores.shape[1];
        return Enumerable.Range(0, (int)scores.shape[0]).Select(n => Ranking.ArgMax(values.AsSpan(n * classes, classes))).ToArray();
    }
}
