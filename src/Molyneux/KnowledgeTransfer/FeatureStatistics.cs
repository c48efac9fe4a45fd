using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Per-channel mean and standard deviation [width] of the token features that enter one layer of CLIP's
/// vision encoder, over every token of every image given, and their Gram matrix [width, width] (GᵀG over tokens, per
/// token). Partial inversion (Eq. 4) keeps the features it optimises close to the moments, as DeepInversion (Yin et
/// al., 2020) does with batch-norm statistics, or to the Gram matrix, as the Knowledge Transfer authors'
/// <c>helpers/style.py</c> does after style transfer (Gatys et al., 2016).</summary>
public sealed record FeatureStatistics(Tensor Mean, Tensor Std) : IDisposable
{
    /// <summary>Fᵀ F / T of the features F [T, width] of all tokens of all images; null when only the moments are known.</summary>
    public Tensor? Gram { get; init; }

    /// <summary>Statistics at <paramref name="layer"/> of already-preprocessed images [M, 3, S, S] (real photographs,
    /// or <c>ImageProcessor.Normalize(rand(...))</c> for noise); returned as CPU float32.</summary>
    public static FeatureStatistics Compute(ClipModel model, Tensor pixelValues, int layer)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = model.vision_model.ForwardToLayer(pixelValues, layer).to(ScalarType.Float32);
        var (std, mean) = features.std_mean([0, 1], unbiased: false);
        var gram = GramMatrix(features.flatten(0, 1).unsqueeze(0))[0];
        return new FeatureStatistics(mean.cpu().DetachFromDisposeScope(), std.cpu().DetachFromDisposeScope()) { Gram = gram.cpu().DetachFromDisposeScope() };
    }

    /// <summary>Per image, Fᵀ F / T of its token features F [T, width]: [N, width, width] of [N, T, width].</summary>
    public static Tensor GramMatrix(Tensor features) => features.transpose(1, 2).matmul(features).Over(features.shape[1]);

    /// <summary>Per image, the mean squared difference between its Gram matrix and <paramref name="target"/>, over the
    /// mean square of the target: scale-free, as the moments' distance is, so that one weight serves every layer.</summary>
    public static Tensor GramDistance(Tensor features, Tensor target)
    {
        using var scope = NewDisposeScope();
        var difference = GramMatrix(features) - target.unsqueeze(0);
        return difference.square().mean([1, 2]).div(target.square().mean().AtLeast(1e-12)).MoveToOuterDisposeScope();
    }

    /// <summary>Statistics at <paramref name="layer"/> of <paramref name="count"/> seeded uniform-noise images, the
    /// prior when no real image is at hand (the premise of Knowledge Transfer).</summary>
    public static FeatureStatistics OfNoise(ClipPipeline clip, int layer, int count, long seed)
    {
        using var scope = NewDisposeScope();
        var noise = rand([count, 3, clip.ImageSize, clip.ImageSize], generator: new Generator((ulong)seed));
        return Compute(clip.Model, clip.ImageProcessor.Normalize(noise).to(clip.Model.DType, clip.Model.Device), layer);
    }

    /// <summary>Statistics at <paramref name="layer"/> of image files, preprocessed as the model expects.</summary>
    public static FeatureStatistics Compute(ClipPipeline clip, IReadOnlyList<string> imagePaths, int layer)
    {
        using var pixels = clip.ImageProcessor.PreprocessFiles(imagePaths);
        using var onDevice = pixels.to(clip.Model.Device).to(clip.Model.DType);
        return Compute(clip.Model, onDevice, layer);
    }

    public void Dispose()
    {
        Mean.Dispose();
        Std.Dispose();
        Gram?.Dispose();
    }
}
