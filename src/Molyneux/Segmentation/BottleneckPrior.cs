using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>The distribution the information bottleneck replaces states with, N(mean, std²) per state entry, and
/// against which it measures how much information passes (the KL "capacity"). M2IB's default is N(0, variance)
/// for every entry (its <c>var</c> = 1); IBA (Schulz et al. 2020) estimates mean and std per entry from sample
/// images, which <see cref="Estimate"/> does.</summary>
public sealed class BottleneckPrior : IDisposable
{
    /// <summary>The prior owns its tensors (it is disposed by whoever made it), so they leave any dispose scope.</summary>
    private BottleneckPrior(Tensor mean, Tensor std, string description)
    {
        Mean = mean.DetachFromDisposeScope();
        Std = std.DetachFromDisposeScope();
        Description = description;
    }

    /// <summary>[1, T, D] or a scalar tensor, float32 on the CPU.</summary>
    public Tensor Mean { get; }

    /// <summary>[1, T, D] or a scalar tensor, float32 on the CPU, everywhere positive.</summary>
    public Tensor Std { get; }

    /// <summary>"N(0, 1)" or "estimated from 16 images".</summary>
    public string Description { get; }

    /// <summary>N(0, <paramref name="variance"/>) for every entry: M2IB's prior.</summary>
    public static BottleneckPrior Standard(double variance = 1)
    {
        if (!(variance > 0) || double.IsInfinity(variance)) throw new OptionException($"bottleneck variance {variance}: must be a positive number");
        return new BottleneckPrior(tensor(0f), tensor((float)Math.Sqrt(variance)), $"N(0, {variance:g4})");
    }

    /// <summary>Mean and std of every state entry over sample images (model inputs [M, 3, S, S]) at
    /// <paramref name="layer"/>, as IBA's estimator: the std has a floor of √(1e-5 / M), so entries that never
    /// vary (dead units) do not divide by zero.</summary>
    public static BottleneckPrior Estimate(ISplitImageTower tower, Tensor pixelValues, int layer)
    {
        var count = pixelValues.shape[0];
        if (count < 2) throw new OptionException($"bottleneck prior: needs at least 2 sample images to estimate a spread, got {count}");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var states = tower.ImageTokensAfter(pixelValues, layer).Tokens.to(ScalarType.Float32).cpu();
        var mean = states.mean([0], keepdim: true);
        var squares = states.sub(mean).square().sum([0], keepdim: true);
        var std = squares.AtLeast(1e-5).Over(count).sqrt();
        return new BottleneckPrior(mean, std, $"estimated from {count} images");
    }

    public void Dispose()
    {
        Mean.Dispose();
        Std.Dispose();
    }
}
