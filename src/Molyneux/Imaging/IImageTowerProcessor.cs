using static TorchSharp.torch;

namespace Molyneux.Imaging;

/// <summary>The image processor that goes with an image tower: decodes files into the tower's inputs and normalises
/// pixels already in [0, 1] at the tower's size; written into and read from the dual encoder's folder.</summary>
public interface IImageTowerProcessor : IImageFilePreprocessor, IDisposable
{
    /// <summary>The side of the images the processor makes.</summary>
    int ImageSize { get; }

    /// <summary>Model inputs of RGB pixels in [0, 1], [N, 3, ImageSize, ImageSize].</summary>
    Tensor Normalize(Tensor pixels);

    /// <summary>Writes the processor's files (preprocessor_config.json and what it refers to) into a folder.</summary>
    void SaveTo(string folder);

    /// <summary>A processor a second pipeline can own and dispose (the same one when it holds nothing to dispose).</summary>
    IImageTowerProcessor Copy();
}
