using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Encoding one batch per step through <see cref="ClipPipeline"/>'s own batched encoders (no gradients,
/// features back as CPU float32), the path every encoder of the library takes.</summary>
internal sealed class EncodingLoop(string name, double flopsPerStep, Func<Tensor> encodeBatch) : IStepLoop
{
    private static readonly string[] Words = ["red", "small", "round", "dog", "star", "photo", "striped", "tree", "blue", "square"];

    /// <summary><see cref="ClipPipeline.EncodePixels"/> on a fixed batch of random preprocessed images.</summary>
    public static EncodingLoop Images(ClipPipeline clip, int batch)
    {
        var size = clip.Model.Config.Vision.ImageSize;
        var pixels = randn([batch, 3, size, size], generator: new Generator(1));
        return new($"image encoding, batch {batch}", batch * ClipFlops.ImageEncoding(clip.Model.Config), () => clip.EncodePixels(pixels));
    }

    /// <summary><see cref="ClipPipeline.EncodeTexts"/> on a fixed batch of captions: tokenization, then the text
    /// tower over the full context (CLIP runs every position, whatever the caption's length).</summary>
    public static EncodingLoop Texts(ClipPipeline clip, int batch)
    {
        var captions = Enumerable.Range(0, batch)
            .Select(i => $"a photo of a {Words[i % Words.Length]} {Words[i / Words.Length % Words.Length]} {Words[i * 7 % Words.Length]}.").ToArray();
        return new($"text encoding, batch {batch}", batch * ClipFlops.TextEncoding(clip.Model.Config), () => clip.EncodeTexts(captions));
    }

    public string Name => name;

    public double FlopsPerStep => flopsPerStep;

    /// <summary>The features of the last step, kept to compare precisions.</summary>
    public Tensor? LastFeatures { get; private set; }

    public void Run(int steps, StepRecorder recorder)
    {
        for (var step = 0; step < steps; step++)
        {
            LastFeatures?.Dispose();
            LastFeatures = encodeBatch();
            recorder.Mark();
        }
    }
}
