using static TorchSharp.torch;

namespace Molyneux.Imaging;

/// <summary>An image preprocessing that can be handed its files already decoded. Decoding is the part of loading
/// that needs no TorchSharp, so <see cref="ImagePipeline"/> runs it on worker threads, ahead of time, and feeds the
/// results here in file order; the preprocessing itself then runs exactly as it does on its own, which keeps the
/// pixels and the errors identical whichever way the files were decoded.</summary>
public interface IImageFilePreprocessor
{
    /// <summary>Preprocesses <paramref name="paths"/> in order into [N, 3, H, W] (CPU), taking file i's pixels from
    /// <paramref name="decoded"/>(i), which is called once per file, in order, and throws that file's decoding error.</summary>
    Tensor PreprocessFiles(IReadOnlyList<string> paths, Func<int, DecodedImage> decoded);
}
