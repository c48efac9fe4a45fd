using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>A held-out zero-shot question asked during pretraining, from tensors already in memory: images [N,3,S,S]
/// in [0,1], their labels, and each class's prompts (averaged, open_clip's way) — e.g. the held-out emoji style with
/// each concept's name, or the shapes world's "which colour?".</summary>
public sealed record ZeroShotProbe(string Name, Tensor Images, IReadOnlyList<int> Labels, IReadOnlyList<string> ClassNames,
    IReadOnlyList<IReadOnlyList<string>> PromptsPerClass)
{
    public (double Top1, double Top5) Evaluate(IVisionLanguageModel clip, int batchSize = 256)
    {
        var metrics = Measure(clip, batchSize);
        return (metrics.Top1, metrics.Top5);
    }

    /// <summary>Every metric of the question, per-class accuracy included.</summary>
    /// <param name="imageFeatures">The images' features as <see cref="Encode"/> gives them, to ask several
    /// questions about the same images without encoding them again; null: encoded here.</param>
    /// <param name="clip">The model being trained, measured as it is now.</param>
    /// <param name="batchSize">Images and prompts encoded per call.</param>
    public ClassificationMetrics Measure(IVisionLanguageModel clip, int batchSize = 256, Tensor? imageFeatures = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var mode = new EvaluationMode(clip.Module);
        using var classifier = ZeroShotClassifier.Build(clip, ClassNames, PromptsPerClass, TemplateEnsemble.Mean, batchSize: batchSize);
        return ClassificationMetrics.Compute(classifier.Predict(imageFeatures ?? Encode(clip, Images)), Labels, ClassNames);
    }

    /// <summary>Features of <paramref name="images"/> (in [0, 1], or bytes) in evaluation mode (BatchNorm on its
    /// running statistics, no dropout).</summary>
    public static Tensor Encode(IVisionLanguageModel clip, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var mode = new EvaluationMode(clip.Module);
        var pixels = clip.Normalize(images.to(ScalarType.Float32).Over(images.dtype == ScalarType.Byte ? 255 : 1));
        return clip.EncodePixels(pixels).MoveToOuterDisposeScope();
    }
}
