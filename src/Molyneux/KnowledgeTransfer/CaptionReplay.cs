using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Ordinary images with their captions, captioned again at every fine-tuning step of a captioner: the step
/// adds λ2 × the captioning loss of as many of them as it has concept pairs, taken in turn. Learning a new name pulls
/// the decoder and the image tower towards the few inverted images; replaying how ordinary scenes are captioned holds
/// them where they were. Not in the paper (it is experience replay, as in continual learning);
/// docs/captioning.md measures what it does.</summary>
/// <param name="Images">[M, 3, S, S] in [0, 1], at the model's input size.</param>
/// <param name="Captions">One caption per image.</param>
public sealed record CaptionReplay(Tensor Images, IReadOnlyList<string> Captions) : IDisposable
{
    /// <summary>The images of a captions file (<see cref="CaptionsDataset"/>: JSONL of an image and its captions) at
    /// <paramref name="imageSize"/> pixels, resized and centre-cropped as the model's preprocessing does, each with its
    /// first caption.</summary>
    /// <param name="captionsFile">The captions file; image paths are relative to its folder.</param>
    /// <param name="imageSize">The model's input size.</param>
    /// <exception cref="DatasetException">The file cannot be read, or an image cannot be decoded; the message names it.</exception>
    public static CaptionReplay Load(string captionsFile, int imageSize)
    {
        var dataset = CaptionsDataset.Load(captionsFile);
        var images = new ClipImageProcessor(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize, doNormalize: false)
            .PreprocessFiles(dataset.Images.Select(image => image.ImagePath).ToList());
        return new CaptionReplay(images.DetachFromDisposeScope(), dataset.Images.Select(image => image.Captions[0]).ToList());
    }

    /// <summary>The rows a step replays: the next <paramref name="count"/> images after those of the steps before it,
    /// wrapping around, so that every image is replayed equally often and a resumed run replays what an uninterrupted
    /// one would.</summary>
    /// <param name="step">The fine-tuning step (0-based).</param>
    /// <param name="count">Images per step.</param>
    public long[] Rows(int step, int count) =>
        Enumerable.Range(0, count).Select(i => ((long)step * count + i) % Captions.Count).ToArray();

    /// <summary>Why a replay cannot go with a caption weight of 0 (<c>finetune</c> and <c>learn</c> refuse it alike).</summary>
    public const string NeedsCaptioningLoss = "--replay: replays ordinary captions with the captioning loss, which a --caption-weight of 0 turns off";

    /// <summary>Stops a replay on a model without a decoder to replay through, naming the model's kind.</summary>
    /// <param name="model">The model to be fine-tuned.</param>
    /// <exception cref="OptionException">The model writes no captions.</exception>
    public static void RequireCaptioner(IVisionLanguageModel model)
    {
        if (model is not ICaptioningModel)
            throw new OptionException($"--replay: replays ordinary captions through a captioner's decoder; this model is a {model.Architecture[0].Value}, which has none");
    }

    public void Dispose() => Images.Dispose();
}
