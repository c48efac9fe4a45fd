using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Steps of <see cref="Inversion.Run"/> over pixels at the model's size: each step warps every image into
/// <paramref name="copies"/> augmented copies, runs them forward through the frozen image tower and back to the
/// pixels, and updates them with Adam. The targets are random unit vectors, one per image.</summary>
internal sealed class InversionLoop(ClipPipeline clip, int images, int copies) : IStepLoop
{
    private readonly Tensor targets = randn([images, clip.Model.Config.ProjectionDim], generator: new Generator(2));

    public string Name => $"inversion step, {images} images × {copies} copies";

    public double FlopsPerStep => ClipFlops.InversionStep(clip.Model.Config, images, copies);

    /// <summary>The last run's result (loss curve and images), kept to compare precisions.</summary>
    public InversionResult? LastResult { get; private set; }

    public void Run(int steps, StepRecorder recorder)
    {
        LastResult?.Dispose();
        var options = new InversionOptions { Steps = steps, AugmentedCopies = copies, ImagesPerConcept = images };
        LastResult = Inversion.Run(clip, targets, options, progress: recorder);
    }
}
