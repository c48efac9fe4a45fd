using Molyneux.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Feature distillation against forgetting (<c>--distill W</c>, the Knowledge Transfer authors'
/// <c>--kd_weight</c>): fine-tuning adds W · D to its contrastive loss, with
/// D = 1/N Σ_i (1 − cos(f_θ(x_i), f_0(x_i)))
/// the mean cosine distance between what the trained tower now makes of its inputs and what the frozen model made of
/// them before the first step. Cosine, as the loss and every zero-shot task read only the features' directions.
///
/// Which inputs hold the model in place (<see cref="FineTuner"/>): the image tower is held on the images it trains on,
/// the only images fine-tuning has (so the weight W trades how far the concept's images may move against how far the
/// tower may drift); the text tower on the negative captions, the reference classes' prompts, which are what forgetting
/// is measured on, while the concept's own captions stay free to move. A concept token changes no other prompt, so
/// token mode has nothing to distil.</summary>
public static class FeatureDistillation
{
    /// <param name="features">[N, D] the trained model's features, unnormalized.</param>
    /// <param name="frozenFeatures">[N, D] the frozen model's features of the same inputs, unnormalized.</param>
    /// <returns>D, a float32 scalar in [0, 2].</returns>
    public static Tensor Compute(Tensor features, Tensor frozenFeatures)
    {
        if (!features.shape.SequenceEqual(frozenFeatures.shape) || features.dim() != 2)
            throw new ArgumentException($"distillation compares [N, D] features row by row: got [{string.Join(", ", features.shape)}] and [{string.Join(", ", frozenFeatures.shape)}]");
        using var scope = NewDisposeScope();
        var cosine = functional.cosine_similarity(features.to(ScalarType.Float32), frozenFeatures.to(ScalarType.Float32), dim: 1);
        return cosine.neg().Plus(1.0).mean().MoveToOuterDisposeScope();
    }
}
