using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>The baseline that looks at nothing: a Gaussian blob in the middle of the image (σ a quarter of each side),
/// the same for every image and text. A saliency method that does not beat it in DSC has not found the object.</summary>
public sealed class CenteredBlob : ISaliencyMethod
{
    public string Description => "centred blob (σ = side / 4)";

    public SaliencyMap Explain(Tensor pixelValues, Tensor textFeature, int height, int width)
    {
        var values = new float[height * width];
        double sy = height / 4.0, sx = width / 4.0;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            double dy = (y + 0.5 - height / 2.0) / sy, dx = (x + 0.5 - width / 2.0) / sx;
            values[y * width + x] = (float)Math.Exp(-0.5 * (dx * dx + dy * dy));
        }
        return new SaliencyMap(width, height, values).Normalized();
    }
}
