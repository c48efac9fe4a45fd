using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

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
    public ClassificationMetrics Measure(IVisionLanguageModel clip, int batchSize = 256)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = clip.Module;
        var wasTraining = model.training;
        model.eval();
        using var classifier = ZeroShotClassifier.Build(clip, ClassNames, PromptsPerClass, TemplateEnsemble.Mean, batchSize: batchSize);
        var pixels = clip.Normalize(Images.to(ScalarType.Float32).Over(Images.dtype == ScalarType.Byte ? 255 : 1));
        var imageFeatures = clip.EncodePixels(pixels);
        var metrics = ClassificationMetrics.Compute(classifier.Predict(imageFeatures), Labels, ClassNames);
        if (wasTraining) model.train();
        return metrics;
    }
}
