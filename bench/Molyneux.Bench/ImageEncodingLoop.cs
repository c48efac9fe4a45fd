using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Encoding a batch of preprocessed images per step through <see cref="ClipPipeline.EncodePixels"/>, the
/// path every image encoder of the library takes (no gradients, features back as CPU float32).</summary>
internal sealed class ImageEncodingLoop(ClipPipeline clip, int batch) : IStepLoop
{
    private readonly Tensor pixels = randn([batch, 3, clip.Model.Config.Vision.ImageSize, clip.Model.Config.Vision.ImageSize],
        generator: new Generator(1));

    public string Name => $"image encoding, batch {batch}";

    public double FlopsPerStep => batch * ClipFlops.ImageEncoding(clip.Model.Config);

    /// <summary>The features of the last step, kept to compare precisions.</summary>
    public Tensor? LastFeatures { get; private set; }

    public void Run(int steps, StepRecorder recorder)
    {
        for (var step = 0; step < steps; step++)
        {
            LastFeatures?.Dispose();
            LastFeatures = clip.EncodePixels(pixels);
            recorder.Mark();
        }
    }
}
