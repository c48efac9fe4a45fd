using Molyneux.Evaluation;
using Molyneux.Training;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>Image–caption pairs to pretrain a CLIP on, held in memory, plus the held-out questions that measure it.</summary>
public interface IPretrainingData
{
    /// <summary>What the data is, for training.json (e.g. "emoji: google, apple, facebook; 1 812 concepts").</summary>
    string Description { get; }

    int Count { get; }

    int ImageSize { get; }

    /// <summary>Every caption the data can produce, to train the vocabulary on.</summary>
    IEnumerable<string> VocabularyCorpus { get; }

    /// <summary>Images [B,3,S,S] in [0,1] and one caption each; <paramref name="generator"/> drives any random
    /// caption choice, so a batch is a function of the indices and the generator's seed.</summary>
    (Tensor Images, IReadOnlyList<string> Captions) Batch(IReadOnlyList<int> indices, Generator generator);

    /// <summary>The random affine warp applied to every training image: as strong as the captions allow (a caption
    /// that names a position forbids large translations).</summary>
    RandomAffineOptions Augmentation { get; }

    /// <summary>A light warp for captions that name positions and colours, which a strong one would falsify.</summary>
    static RandomAffineOptions LightAugmentation { get; } = new() { MaxRotationDegrees = 10, MaxTranslation = 0.05, MinScale = 0.85, MaxScale = 1, Probability = 1 };

    /// <summary>Held-out zero-shot questions, evaluated along the learning curve.</summary>
    IReadOnlyList<ZeroShotProbe> Probes { get; }

    /// <summary>Held-out images with reference captions, captioned along a CoCa's pretraining (CIDEr-D, BLEU-4); none
    /// where the data has no such set.</summary>
    IReadOnlyList<CaptionProbe> CaptionProbes => [];
}
