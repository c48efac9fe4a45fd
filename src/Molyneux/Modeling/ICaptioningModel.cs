using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>A vision-language model that also writes captions (CoCa): Knowledge Transfer adds its captioning loss to
/// the contrastive one when fine-tuning (the paper's Eq. 5–6, L = λ1·L_CLIP + λ2·L_cap) and measures whether its
/// captions of a concept's real images name the concept.</summary>
public interface ICaptioningModel : IVisionLanguageModel
{
    /// <summary>Image features [N, EmbeddingSize] of model inputs [N, 3, S, S] and the captioning loss of token ids
    /// [N, L] from <see cref="IVisionLanguageModel.Tokenize"/> (row k captions image k), from one pass of the image
    /// tower, with gradients where enabled.</summary>
    (Tensor ImageFeatures, Tensor CaptionLoss) ImageFeaturesAndCaptionLoss(Tensor pixelValues, Tensor tokenIds);

    /// <summary>Greedy captions of model inputs [N, 3, S, S], without gradients.</summary>
    IReadOnlyList<string> Caption(Tensor pixelValues);
}
