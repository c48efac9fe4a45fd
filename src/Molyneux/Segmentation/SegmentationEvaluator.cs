using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>How <see cref="SegmentationEvaluator"/> segments: the saliency method, how maps become masks, the NSD
/// tolerance, and the prompt per class.</summary>
public sealed record SegmentationOptions
{
    public required ISaliencyMethod Method { get; init; }

    public MaskOptions Mask { get; init; } = new();

    /// <summary>NSD's tolerance τ in pixels (MedCLIP-SAMv2 uses 2).</summary>
    public double Tolerance { get; init; } = SegmentationMetrics.PaperNsdTolerance;

    /// <summary>A JSON object from class folder to prompt; null: <see cref="Template"/> over the display names.</summary>
    public string? PromptsFile { get; init; }

    public string Template { get; init; } = "a {}";

    /// <summary>When set, called with each image's segmentation (for reports that show maps beside masks).</summary>
    public Action<SegmentedImage>? OnImage { get; init; }
}

/// <summary>One image as the evaluator saw it: its pixels [3, h, w], the map, the predicted and the true mask, and
/// the scores. The pixels are only valid during the callback.</summary>
public sealed record SegmentedImage(SegmentationSample Sample, string Prompt, Tensor Pixels, SaliencyMap Map,
    SaliencySegmentation Prediction, BinaryMask Truth, SegmentationScores Scores);

/// <summary>Zero-shot segmentation as MedCLIP-SAMv2 scores it: for every image, the saliency of its class's prompt
/// (<see cref="ISaliencyMethod"/>), turned into a mask (<see cref="SaliencyToMask"/>), compared with the true mask by
/// DSC, IoU and NSD (<see cref="SegmentationMetrics"/>); means per class and the macro mean over classes with
/// bootstrap intervals.</summary>
public static class SegmentationEvaluator
{
    public static SegmentationReport Evaluate(IVisionLanguageModel model, SegmentationDataset data, SegmentationOptions options,
        IProgress<EvaluationProgress>? progress = null)
    {
        var prompts = data.Prompts(options.PromptsFile, options.Template);
        CheckPromptsFit(model, data, prompts, options.PromptsFile);
        progress?.Report(new EvaluationProgress(EvaluationStage.EncodingTexts, 0, prompts.Count));
        using var textFeatures = nn.functional.normalize(model.EncodeTexts(prompts), dim: -1);
        progress?.Report(new EvaluationProgress(EvaluationStage.EncodingTexts, prompts.Count, prompts.Count));

        var scores = new List<ImageScores>();
        for (var i = 0; i < data.Samples.Count; i++)
        {
            using var scope = NewDisposeScope();
            var sample = data.Samples[i];
            var pixels = ImageDecoder.Load(sample.ImagePath);
            var (height, width) = ((int)pixels.shape[1], (int)pixels.shape[2]);
            var truth = BinaryMask.ReadPng(sample.MaskPath);
            if (truth.Width != width || truth.Height != height)
                throw new DatasetException($"{sample.MaskPath}: the mask is {truth.Width}×{truth.Height} but its image {sample.ImagePath} is {width}×{height}");
            var map = options.Method.Explain(SaliencyMaps.ModelInput(model, pixels), textFeatures[sample.Label], height, width);
            var prediction = SaliencyToMask.Apply(map, options.Mask);
            var score = SegmentationMetrics.Score(prediction.Mask, truth, options.Tolerance);
            scores.Add(new ImageScores(Path.GetRelativePath(data.Location, sample.ImagePath), data.ClassFolders[sample.Label], score.Dice, score.IoU, score.Nsd));
            options.OnImage?.Invoke(new SegmentedImage(sample, prompts[sample.Label], pixels, map, prediction, truth, score));
            progress?.Report(new EvaluationProgress(EvaluationStage.EncodingImages, i + 1, data.Samples.Count));
        }
        return SegmentationReport.Create(model, data, options, prompts, scores);
    }

    private static void CheckPromptsFit(IVisionLanguageModel model, SegmentationDataset data, IReadOnlyList<string> prompts, string? promptsFile)
    {
        for (var c = 0; c < prompts.Count; c++)
            if (SaliencyMaps.PromptOverflow(model, prompts[c]) is { } overflow)
                throw new DatasetException($"{promptsFile ?? "prompt template"}: the prompt of class '{data.ClassFolders[c]}' {overflow}");
    }
}
