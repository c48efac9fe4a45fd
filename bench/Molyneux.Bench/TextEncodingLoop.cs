using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Encoding a batch of captions per step through <see cref="ClipPipeline.EncodeTexts"/>: tokenization, then
/// the text tower over the full context (CLIP runs every position, whatever the caption's length).</summary>
internal sealed class TextEncodingLoop(ClipPipeline clip, int batch) : IStepLoop
{
    private static readonly string[] Words = ["red", "small", "round", "dog", "star", "photo", "striped", "tree", "blue", "square"];

    private readonly string[] captions = Enumerable.Range(0, batch)
        .Select(i => $"a photo of a {Words[i % Words.Length]} {Words[i / Words.Length % Words.Length]} {Words[i * 7 % Words.Length]}.").ToArray();

    public string Name => $"text encoding, batch {batch}";

    public double FlopsPerStep => batch * ClipFlops.TextEncoding(clip.Model.Config);

    public Tensor? LastFeatures { get; private set; }

    public void Run(int steps, StepRecorder recorder)
    {
        for (var step = 0; step < steps; step++)
        {
            LastFeatures?.Dispose();
            LastFeatures = clip.EncodeTexts(captions);
            recorder.Mark();
        }
    }
}
