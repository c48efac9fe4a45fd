using Molyneux.Evaluation;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>A held-out zero-shot question asked during pretraining, from tensors already in memory: images [N,3,S,S]
/// in [0,1], their labels, and one prompt per class (e.g. the held-out emoji style with each concept's name, or the
/// shapes world's "which colour?").</summary>
public sealed record ZeroShotProbe(string Name, Tensor Images, IReadOnlyList<int> Labels, IReadOnlyList<string> ClassPrompts)
{
    public (double Top1, double Top5) Evaluate(ClipPipeline clip, int batchSize = 256)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = clip.Model;
        var wasTraining = model.training;
        model.eval();
        var textFeatures = nn.functional.normalize(clip.EncodeTexts(ClassPrompts), dim: -1);
        var imageFeatures = new List<Tensor>();
        for (long start = 0; start < Images.shape[0]; start += batchSize)
        {
            var pixels = clip.ImageProcessor.Normalize(Images[start..Math.Min(start + batchSize, Images.shape[0])].to(model.Device));
            imageFeatures.Add(model.GetImageFeatures(pixels.to(model.DType)).to(ScalarType.Float32).cpu());
        }
        var scores = nn.functional.normalize(cat(imageFeatures, 0), dim: -1).matmul(textFeatures.t());
        var metrics = ClassificationMetrics.Compute(scores, Labels, ClassPrompts);
        if (wasTraining) model.train();
        return (metrics.Top1, metrics.Top5);
    }
}
