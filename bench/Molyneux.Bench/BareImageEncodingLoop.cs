using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>The step of <see cref="EncodingLoop.Images"/> as bare libtorch calls: <see cref="BareVisionTower"/> under
/// no_grad in one dispose scope, the features brought back as CPU float32.</summary>
internal sealed class BareImageEncodingLoop(ClipPipeline clip, int batch) : IStepLoop
{
    private readonly BareVisionTower tower = new(clip.Model);
    private readonly Tensor pixels = randn([batch, 3, clip.Model.Config.Vision.ImageSize, clip.Model.Config.Vision.ImageSize],
        generator: new Generator(1));

    public string Name => $"bare image encoding, batch {batch}";

    public double FlopsPerStep => batch * ClipFlops.ImageEncoding(clip.Model.Config);

    public void Run(int steps, StepRecorder recorder)
    {
        using var _ = no_grad();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            tower.Features(pixels.to(clip.Model.DType)).to(ScalarType.Float32).cpu();
            recorder.Mark();
        }
    }
}
