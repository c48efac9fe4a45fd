using Molyneux.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.Training;

/// <summary>Ranges of <see cref="RandomAffine"/>. The defaults are those of the reference inversion code, kornia's
/// <c>RandomAffine(30, (0.1, 0.1), (0.7, 1.2), p=0.5, padding_mode="border")</c> in both Kazemi et al.'s invert.py
/// and the Knowledge Transfer authors' biomedclip_invert.py.</summary>
public sealed record RandomAffineOptions
{
    /// <summary>Rotation drawn uniformly from ±this many degrees.</summary>
    public double MaxRotationDegrees { get; init; } = 30;

    /// <summary>Horizontal and vertical shifts drawn uniformly from ±this fraction of the width and height.</summary>
    public double MaxTranslation { get; init; } = 0.1;

    /// <summary>Zoom factor drawn uniformly from [MinScale, MaxScale]; above 1 enlarges the content.</summary>
    public double MinScale { get; init; } = 0.7;

    public double MaxScale { get; init; } = 1.2;

    /// <summary>Chance that an image is transformed at all; the others pass through unchanged.</summary>
    public double Probability { get; init; } = 0.5;

    public void Validate()
    {
        static void Require(bool condition, string problem)
        {
            if (!condition) throw new OptionException($"augmentation: {problem}");
        }
        Require(double.IsFinite(MaxRotationDegrees) && MaxRotationDegrees >= 0, $"maximum rotation must be ≥ 0 degrees, got {MaxRotationDegrees}");
        Require(double.IsFinite(MaxTranslation) && MaxTranslation is >= 0 and <= 1, $"maximum translation must be in [0, 1], got {MaxTranslation}");
        Require(double.IsFinite(MinScale) && MinScale > 0 && double.IsFinite(MaxScale) && MaxScale >= MinScale,
            $"scale range must satisfy 0 < min ≤ max, got [{MinScale}, {MaxScale}]");
        Require(Probability is >= 0 and <= 1, $"probability must be in [0, 1], got {Probability}");
    }
}

/// <summary>Per-image affine parameters, CPU float32: <see cref="AngleDegrees"/> [N] (positive turns the content
/// counter-clockwise as displayed), <see cref="Translation"/> [N, 2] (x right, y down, as fractions of the width and
/// height) and <see cref="Scale"/> [N]. An image left untransformed has 0, (0, 0) and 1.</summary>
public sealed record AffineParameters(Tensor AngleDegrees, Tensor Translation, Tensor Scale) : IDisposable
{
    public void Dispose()
    {
        AngleDegrees.Dispose();
        Translation.Dispose();
        Scale.Dispose();
    }
}

/// <summary>The random affine augmentation A(·) of the inversion objective (Eq. 3): each image of a batch gets its
/// own rotation about the centre, scale and shift, resampled bilinearly with border padding through
/// <c>affine_grid</c> + <c>grid_sample</c>, so gradients flow back to the pixels. Draws come from a caller's CPU
/// generator, which makes a run reproducible and its random state capturable.</summary>
public sealed class RandomAffine
{
    private readonly RandomAffineOptions options;

    public RandomAffine(RandomAffineOptions options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>Draws parameters for <paramref name="count"/> images: five uniform numbers each (whether to apply,
    /// angle, x and y shift, scale), always all five, so the generator advances the same way whatever is applied.</summary>
    public AffineParameters Sample(long count, Generator generator)
    {
        using var scope = NewDisposeScope();
        var uniform = rand([count, 5], generator: generator);
        var applied = uniform[.., 0].Below(options.Probability);
        Tensor Symmetric(Tensor u, double limit) => u.Times(2).Plus(-1.0).Times(limit);
        var angle = where(applied, Symmetric(uniform[.., 1], options.MaxRotationDegrees), 0f);
        var translation = where(applied.unsqueeze(1), Symmetric(uniform[.., 2..4], options.MaxTranslation), 0f);
        var scale = where(applied, uniform[.., 4].Times(options.MaxScale - options.MinScale).Plus(options.MinScale), 1f);
        return new AffineParameters(angle.MoveToOuterDisposeScope(), translation.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope());
    }

    /// <summary>Draws parameters for every image of [N, C, H, W] and warps it.</summary>
    public Tensor Apply(Tensor images, Generator generator)
    {
        using var parameters = Sample(images.shape[0], generator);
        return Warp(images, parameters);
    }

    /// <summary>Warps each image of [N, C, H, W] by its parameters: the content is scaled and rotated about the
    /// image centre, then shifted; pixels that come from outside repeat the border.</summary>
    public static Tensor Warp(Tensor images, AffineParameters parameters)
    {
        using var scope = NewDisposeScope();
        var (count, height, width) = (images.shape[0], images.shape[2], images.shape[3]);
        // grid_sample needs, for each output pixel, where to read in the input: the inverse of the forward map
        // p_out = s·R(θ)·p_in + t. In pixel units about the centre (y down), a counter-clockwise turn is
        // R(θ) = [[cos θ, sin θ], [−sin θ, cos θ]], so p_in = R(θ)ᵀ·(p_out − t)/s. affine_grid works in coordinates
        // normalised to [−1, 1] per axis; for a non-square image the turn is conjugated by diag(W/2, H/2) so it stays
        // a true rotation in pixels, and a shift of a fraction f of a side is 2f in normalised units.
        var radians = parameters.AngleDegrees.to(ScalarType.Float64).Times(Math.PI / 180);
        var (cos, sin) = (radians.cos(), radians.sin());
        var inverseScale = parameters.Scale.to(ScalarType.Float64).reciprocal();
        var aspect = (double)height / width;
        var linear = stack([
            stack([cos, sin.neg().Times(aspect)], 1),
            stack([sin.Over(aspect), cos], 1),
        ], 1) * inverseScale.view(count, 1, 1);
        var shift = parameters.Translation.to(ScalarType.Float64).Times(2);
        var offset = -linear.matmul(shift.unsqueeze(2));
        var theta = cat([linear, offset], 2).to(images.dtype).to(images.device);
        var grid = affine_grid(theta, [count, images.shape[1], height, width], align_corners: false);
        return grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false)
            .MoveToOuterDisposeScope();
    }
}
