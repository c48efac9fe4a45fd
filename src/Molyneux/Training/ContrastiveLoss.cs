using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Training;

/// <summary>CLIP's InfoNCE loss (Radford et al. 2021): with s_ij = exp(t)·⟨x̂_i, ŷ_j⟩ the scaled cosine of image i
/// and text j, the symmetric form
/// L = ½ [ −1/B Σ_i log softmax_j(s_i·)_i  −  1/B Σ_j log softmax_i(s_·j)_j ]
/// matches each image to its caption among the texts (first term) and each caption to its image (second term);
/// Knowledge Transfer's Eq. 2 (Barbano et al. 2024) is the first term alone.</summary>
public static class ContrastiveLoss
{
    /// <param name="imageFeatures">[B, D] unnormalized image features.</param>
    /// <param name="textFeatures">[B + M, D] unnormalized text features: row i &lt; B is image i's caption; the M rows
    /// after them are extra negative captions, which widen the image→text softmax only (the text→image term runs over
    /// the B captions, each of which has an image).</param>
    /// <param name="logitScale">t, the log of the inverse temperature (CLIP's <c>logit_scale</c>).</param>
    /// <param name="symmetric">Both terms (CLIP's pretraining loss); false: image→text only (Eq. 2).</param>
    /// <returns>The scalar loss, in float32.</returns>
    public static Tensor Compute(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, bool symmetric = true)
    {
        var batch = imageFeatures.shape[0];
        if (batch == 0 || textFeatures.shape[0] < batch)
            throw new ArgumentException($"the loss needs at least one image and a caption for each: got {batch} images and {textFeatures.shape[0]} texts");
        using var scope = NewDisposeScope();
        var logits = ClipModel.ScaledCosine(imageFeatures, textFeatures, logitScale).to(ScalarType.Float32);
        var targets = LiveScalars.Range(batch, logits.device);
        var imageToText = functional.cross_entropy(logits, targets);
        if (!symmetric) return imageToText.MoveToOuterDisposeScope();
        var textToImage = functional.cross_entropy(logits[.., ..(int)batch].t(), targets);
        return stack([imageToText, textToImage]).mean().MoveToOuterDisposeScope();
    }
}
