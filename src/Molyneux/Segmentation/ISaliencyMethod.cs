using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>A way to say where in an image a text is: M2IB (<see cref="MultimodalInformationBottleneck"/>), the
/// Grad-CAM baseline (<see cref="GradCam"/>) or the centred blob that knows nothing (<see cref="CenteredBlob"/>).</summary>
public interface ISaliencyMethod
{
    /// <summary>The method and its settings, for reports: "m2ib (layer 3, β 0.1, 10 steps)".</summary>
    string Description { get; }

    /// <summary>The saliency of the text with normalised features <paramref name="textFeature"/> [EmbeddingSize] over
    /// one model input <paramref name="pixelValues"/> [1, 3, S, S], resampled to <paramref name="height"/> ×
    /// <paramref name="width"/> (the image's own size, so it lies over its mask) and scaled to [0, 1].</summary>
    SaliencyMap Explain(Tensor pixelValues, Tensor textFeature, int height, int width);
}

/// <summary>What the saliency methods share: turning an image into a model input and values per token into a map
/// over the image.</summary>
public static class SaliencyMaps
{
    /// <summary>Why the model would cut <paramref name="prompt"/> ("has 82 tokens, more than the model's context of
    /// 77"), or null when it fits. A cut prompt is refused rather than silently shortened: the map would be of another
    /// text than the one asked for.</summary>
    public static string? PromptOverflow(IVisionLanguageModel model, string prompt)
    {
        var tokens = model.CountTokens(prompt);
        return tokens > model.ContextLength ? $"has {tokens} tokens, more than the model's context of {model.ContextLength}" : null;
    }

    /// <summary>An image [3, h, w] in [0, 1] resized (bilinear) to the model's square input and normalised as the
    /// model expects: [1, 3, S, S] on its device. No crop, so every image pixel keeps a place in the map.</summary>
    public static Tensor ModelInput(IVisionLanguageModel model, Tensor image)
    {
        using var scope = NewDisposeScope();
        var size = model.ImageSize;
        var batch = image.unsqueeze(0).to(ScalarType.Float32);
        if (image.shape[1] != size || image.shape[2] != size)
            batch = nn.functional.interpolate(batch, [size, size], mode: InterpolationMode.Bilinear, align_corners: false).AtLeast(0).AtMost(1);
        return model.Normalize(batch.to(model.Device.Device)).to(model.Device.DType).MoveToOuterDisposeScope();
    }

    /// <summary>Values per token [T] (prefix tokens included) to a map over the image: the grid positions, upsampled
    /// bilinearly to <paramref name="height"/> × <paramref name="width"/> as M2IB does, scaled to [0, 1].</summary>
    public static SaliencyMap FromTokens(Tensor tokenValues, TokenGrid grid, int height, int width)
    {
        using var scope = NewDisposeScope();
        var positions = tokenValues.detach().to(ScalarType.Float32).cpu()[grid.Prefix..].reshape(1, 1, grid.Height, grid.Width);
        var upsampled = nn.functional.interpolate(positions, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        return new SaliencyMap(width, height, upsampled.flatten().data<float>().ToArray()).Normalized();
    }
}
