using Molyneux.Evaluation;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>
/// CLIP-score (Hessel et al. 2021, "CLIPScore: A Reference-free Evaluation Metric for Image Captioning"): how well a
/// caption fits its image under a dual encoder, without references. <see cref="Cosines(Tensor, Tensor)"/> gives the
/// cosine of each caption's and its image's features; <see cref="Scaled"/> turns a cosine into the paper's
/// CLIP-S = w · max(cos, 0) with w = 2.5. Any <see cref="IVisionLanguageModel"/> serves (the paper used CLIP ViT-B/32
/// with the prompt "A photo depicts"; prefix the captions to reproduce that).
/// </summary>
public static class ClipScore
{
    /// <summary>Hessel et al.'s w, which stretches CLIP's typical cosines onto roughly [0, 1].</summary>
    public const double HesselWeight = 2.5;

    public const int DefaultBatchSize = 64;

    /// <summary>CLIP-S of one cosine: w · max(cos, 0).</summary>
    public static double Scaled(double cosine, double weight = HesselWeight) => weight * Math.Max(cosine, 0);

    /// <summary>Cosine of row i of the image features with row i of the text features, both [N, D].</summary>
    public static IReadOnlyList<double> Cosines(Tensor imageFeatures, Tensor textFeatures)
    {
        if (imageFeatures.dim() != 2 || !imageFeatures.shape.SequenceEqual(textFeatures.shape))
            throw new ArgumentException($"image features [{string.Join(", ", imageFeatures.shape)}] and text features [{string.Join(", ", textFeatures.shape)}] must both be [N, D]");
        using var scope = NewDisposeScope();
        var cosines = Cosine.Normalize(imageFeatures).mul(Cosine.Normalize(textFeatures)).sum(1);
        return cosines.cpu().data<float>().Select(cosine => (double)cosine).ToArray();
    }

    /// <summary>Cosine of each caption with the image file it describes (same order), under any pair of encoders —
    /// a vision-language model is both.</summary>
    public static IReadOnlyList<double> Cosines(
        IImageEncoder imageEncoder, ITextEncoder textEncoder, IReadOnlyList<string> imagePaths, IReadOnlyList<string> captions,
        int batchSize = DefaultBatchSize)
    {
        CheckPairs(imagePaths.Count, captions.Count);
        using var imageFeatures = BatchedEncoding.EncodeImages(imageEncoder, imagePaths, batchSize, cache: null, progress: null);
        using var textFeatures = BatchedEncoding.EncodeTexts(textEncoder, captions, batchSize, cache: null, progress: null);
        return Cosines(imageFeatures, textFeatures);
    }

    /// <summary>Cosine of each caption with its image file under one vision-language model.</summary>
    public static IReadOnlyList<double> Cosines(IVisionLanguageModel model, IReadOnlyList<string> imagePaths, IReadOnlyList<string> captions, int batchSize = DefaultBatchSize) =>
        Cosines(model, model, imagePaths, captions, batchSize);

    /// <summary>Cosine of each caption with its image given as model inputs [N, 3, ImageSize, ImageSize], already
    /// normalised (<see cref="IVisionLanguageModel.Normalize"/>): the <c>pixel_values</c> of a <c>--pixels</c> file.</summary>
    public static IReadOnlyList<double> Cosines(IVisionLanguageModel model, Tensor pixelValues, IReadOnlyList<string> captions, int batchSize = DefaultBatchSize)
    {
        CheckPairs((int)pixelValues.shape[0], captions.Count);
        using var imageFeatures = model.EncodePixels(pixelValues, "CLIP-score");
        using var textFeatures = BatchedEncoding.EncodeTexts(model, captions, batchSize, cache: null, progress: null);
        return Cosines(imageFeatures, textFeatures);
    }

    private static void CheckPairs(int imageCount, int captionCount)
    {
        if (captionCount == 0)
            throw new DatasetException("CLIP-score: no captions to score");
        if (imageCount != captionCount)
            throw new DatasetException($"CLIP-score: {captionCount} captions for {imageCount} images; each caption needs its own image");
    }
}
