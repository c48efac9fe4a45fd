using Molyneux.Modeling;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.Bench;

/// <summary>The inversion step of <see cref="InversionLoop"/> written as one flat run of libtorch calls: draw the
/// affine parameters, warp the copies (affine_grid + grid_sample), normalize, <see cref="BareVisionTower"/>, the
/// cosine to the targets and the total variation, the gradient to the pixels, per-image clipping, Adam, clamping.
/// Only one dispose scope per step, to free the step's tensors; the reported loss is read back as the library does.</summary>
internal sealed class BareInversionLoop(ClipPipeline clip, int images, int copies) : IStepLoop
{
    private const double LearningRate = 0.1, TotalVariationWeight = 0.005, Beta1 = 0.9, Beta2 = 0.999;

    private readonly BareVisionTower tower = new(clip.Model);
    private readonly int size = clip.Model.Config.Vision.ImageSize;

    public string Name => $"bare inversion step, {images} images × {copies} copies";

    public double FlopsPerStep => ClipFlops.InversionStep(clip.Model.Config, images, copies);

    public void Run(int steps, StepRecorder recorder)
    {
        using var runScope = NewDisposeScope();
        using var generator = new Generator(0);
        var targets = normalize(randn([images, clip.Model.Config.ProjectionDim], generator: new Generator(2)), dim: -1).repeat_interleave(copies, 0);
        var pixels = rand([images, 3, size, size], generator: generator);
        var (first, second) = (zeros_like(pixels), zeros_like(pixels));
        var mean = tensor(clip.ImageProcessor.Mean.Select(m => (float)m).ToArray()).view(1, 3, 1, 1);
        var std = tensor(clip.ImageProcessor.Std.Select(s => (float)s).ToArray()).view(1, 3, 1, 1);
        var parameters = clip.Model.parameters().ToList();
        foreach (var parameter in parameters) parameter.requires_grad = false;
        for (var step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var variable = pixels.detach().requires_grad_(true);
            var count = images * copies;
            var uniform = rand([count, 5], generator: generator);
            var applied = uniform[.., 0] < 0.5;
            var radians = where(applied, (uniform[.., 1] * 2 - 1) * (30 * Math.PI / 180), 0f);
            var inverseScale = where(applied, uniform[.., 4] * 0.5 + 0.7, 1f).reciprocal();
            var shift = where(applied.unsqueeze(1), (uniform[.., 2..4] * 2 - 1) * 0.2, 0f);
            var linearPart = stack([stack([radians.cos(), -radians.sin()], 1), stack([radians.sin(), radians.cos()], 1)], 1) * inverseScale.view(count, 1, 1);
            var theta = cat([linearPart, -linearPart.matmul(shift.unsqueeze(2))], 2);
            var grid = affine_grid(theta, [count, 3, size, size], align_corners: false);
            var warped = grid_sample(variable.repeat_interleave(copies, 0), grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
            var features = tower.Features(((warped - mean) / std).to(clip.Model.DType)).to(ScalarType.Float32);
            var cosine = (normalize(features, dim: -1) * targets).sum(-1).view(images, copies).mean([1]);
            var (height, width) = (size - 1L, size - 1L);
            var totalVariation = (linalg.vector_norm(variable.narrow(3, 1, width) - variable.narrow(3, 0, width), 2, [2, 3])
                                  + linalg.vector_norm(variable.narrow(2, 1, height) - variable.narrow(2, 0, height), 2, [2, 3])
                                  + linalg.vector_norm(variable.narrow(2, 1, height).narrow(3, 1, width) - variable.narrow(2, 0, height).narrow(3, 0, width), 2, [2, 3])
                                  + linalg.vector_norm(variable.narrow(2, 1, height).narrow(3, 0, width) - variable.narrow(2, 0, height).narrow(3, 1, width), 2, [2, 3])).mean([1]);
            var loss = TotalVariationWeight * totalVariation - cosine;
            var gradient = autograd.grad([loss.sum()], [variable])[0];
            using (no_grad())
            {
                gradient.mul_((1.0 / (linalg.vector_norm(gradient.flatten(1), 2, [1]) + 1e-6)).clamp_max(1).view(-1, 1, 1, 1));
                first.mul_(Beta1).add_(gradient, alpha: 1 - Beta1);
                second.mul_(Beta2).addcmul_(gradient, gradient, value: 1 - Beta2);
                var denominator = second.sqrt().div_(Math.Sqrt(1 - Math.Pow(Beta2, step))).add_(1e-8);
                pixels.addcdiv_(first, denominator, value: -LearningRate / (1 - Math.Pow(Beta1, step))).clamp_(0, 1);
            }
            _ = stack([cosine.mean(), totalVariation.mean(), loss.mean()]).to(ScalarType.Float64).cpu().data<double>().ToArray();
            recorder.Mark();
        }
        foreach (var parameter in parameters) parameter.requires_grad = true;
    }
}
