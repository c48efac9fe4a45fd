using Molyneux.Runtime;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Zero-shot evaluations end to end: encode (batched, cached), score, measure, report. The CLI's
/// <c>eval classify</c> and <c>eval retrieve</c> load the model and the dataset, fill the options, call these and save
/// the report.</summary>
public static class Evaluator
{
    public static ClassificationReport EvaluateClassification(
        IImageEncoder imageEncoder,
        ITextEncoder textEncoder,
        ILabeledImageDataset dataset,
        ClassificationOptions options,
        IProgress<EvaluationProgress>? progress = null) =>
        EvaluateClassification(dataset, options, new ModelInfo(options.ModelPath, imageEncoder.Identity, textEncoder.Identity),
            RunEnvironment.Capture(imageEncoder.Device), (classNames, prompts, imagePaths) =>
            {
                using var classifier = ZeroShotClassifier.Build(
                    textEncoder, classNames, prompts, options.Ensemble, options.LogitScale, options.Cache, options.BatchSize, progress);
                using var imageEmbeddings = BatchedEncoding.EncodeImages(imageEncoder, imagePaths, options.BatchSize, options.Cache, progress);
                return classifier.Predict(imageEmbeddings);
            });

    /// <summary>Classification by any zero-shot scorer (CLIP's cosine above, ASIF's relative representations):
    /// <paramref name="score"/> maps the class names, each class's prompts and the image files to scores [images,
    /// classes]; the dataset, prompts, metrics and report are handled here the same way for all.</summary>
    public static ClassificationReport EvaluateClassification(
        ILabeledImageDataset dataset,
        ClassificationOptions options,
        ModelInfo model,
        RunEnvironment environment,
        Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<string>>, IReadOnlyList<string>, Tensor> score)
    {
        var selected = options.Classes?.Apply(dataset) ?? dataset;
        if (selected.Images.Count == 0)
            throw new DatasetException($"{selected.Location}: no images to classify");
        var classNames = selected.ClassNames;

        var prompts = options.Descriptions is { } descriptions
            ? descriptions.PromptsFor(classNames, options.DescriptorTemplate)
            : options.Templates.PromptsFor(classNames);
        using var scores = score(classNames, prompts, selected.Images.Select(image => image.Path).ToList());
        var metrics = ClassificationMetrics.Compute(scores, selected.Images.Select(image => image.ClassIndex).ToList(), classNames);

        var byDescription = options.Descriptions is not null;
        return new ClassificationReport
        {
            CreatedUtc = DateTime.UtcNow,
            Model = model,
            Environment = environment,
            Dataset = new ClassificationDatasetInfo(selected.Location, selected.Images.Count, classNames.Count),
            Options = new ClassificationOptionsInfo(
                byDescription ? null : options.Templates.Name,
                byDescription ? null : options.Templates.Templates.Count,
                options.Ensemble,
                options.Descriptions?.Location,
                byDescription ? options.DescriptorTemplate : null,
                options.Classes?.Entries,
                options.LogitScale,
                options.MostConfusedLimit),
            Metrics = new ClassificationMetricsInfo(metrics.Top1, metrics.Top5, metrics.MeanPerClassRecall),
            PerClass = metrics.PerClass,
            MostConfused = metrics.MostConfused.Take(options.MostConfusedLimit).ToList(),
        };
    }

    public static RetrievalReport EvaluateRetrieval(
        IImageEncoder imageEncoder,
        ITextEncoder textEncoder,
        CaptionsDataset dataset,
        RetrievalOptions options,
        IProgress<EvaluationProgress>? progress = null)
    {
        using var textEmbeddings = BatchedEncoding.EncodeTexts(textEncoder, dataset.Captions, options.BatchSize, options.Cache, progress);
        using var imageEmbeddings = BatchedEncoding.EncodeImages(
            imageEncoder, dataset.Images.Select(image => image.ImagePath).ToList(), options.BatchSize, options.Cache, progress);
        using var similarity = Cosine.Similarity(imageEmbeddings, textEmbeddings);
        var metrics = RetrievalMetrics.Compute(similarity, dataset.CaptionImageIndices);
        var recallAtK = RetrievalMetrics.RecallsAt(similarity, dataset.CaptionImageIndices, options.RecallK);

        return new RetrievalReport
        {
            CreatedUtc = DateTime.UtcNow,
            Model = new ModelInfo(options.ModelPath, imageEncoder.Identity, textEncoder.Identity),
            Environment = RunEnvironment.Capture(imageEncoder.Device),
            Dataset = new RetrievalDatasetInfo(dataset.Location, dataset.Images.Count, dataset.Captions.Count),
            Metrics = metrics,
            RecallAtK = recallAtK,
        };
    }
}
