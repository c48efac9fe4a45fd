using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Steps of <see cref="FineTuner.Run"/> with its defaults (image tower trainable, AdamW): each step takes
/// <paramref name="batch"/> image–caption pairs plus every negative caption. The pairs are a whole number of
/// batches, so every step has the same size; the frozen text tower's features are encoded once, before the first
/// step, as the fine-tuner does.</summary>
internal sealed class FineTuneLoop(ClipPipeline clip, int batch, int negatives) : IStepLoop
{
    private readonly FineTuneData data = new(
        rand([2 * batch, 3, clip.Model.Config.Vision.ImageSize, clip.Model.Config.Vision.ImageSize], generator: new Generator(3)),
        Enumerable.Range(0, 2 * batch).Select(i => $"a photo of the concept, view {i}.").ToArray(),
        Enumerable.Range(0, negatives).Select(i => $"a photo of reference class {i}.").ToArray());

    public string Name => $"fine-tuning step, batch {batch} + {negatives} negatives";

    public double FlopsPerStep => ClipFlops.FineTuneImageStep(clip.Model.Config, batch);

    public void Run(int steps, StepRecorder recorder) =>
        new FineTuner(new FineTuneOptions { Steps = steps, BatchSize = batch }) { Progress = recorder }.Run(clip, data);
}
