using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Partial inversion (Eq. 4): optimise the token features h that enter vision-encoder layer
/// <see cref="Layer"/>, so that cos(f_V^{≥L}(h), f_T(description)) is maximal, minus β times how far the features'
/// per-channel moments or Gram matrix (<see cref="Style"/>) stray from <see cref="Statistics"/>. Pixels, augmentations, total variation, copies and
/// resolution stages do not apply.</summary>
public sealed record PartialInversionOptions
{
    /// <summary>The encoder layer the optimised features enter, 0 to the number of layers (which leaves only the
    /// post-norm and the projection after them).</summary>
    public required int Layer { get; init; }

    /// <summary>Target statistics at <see cref="Layer"/>, e.g. <see cref="FeatureStatistics.Compute(ClipModel, Tensor, int)"/>
    /// of a few real or noise images. The features start as Gaussian noise with these statistics.</summary>
    public required FeatureStatistics Statistics { get; init; }

    /// <summary>β, the weight of the statistics prior.</summary>
    public double StatisticsWeight { get; init; } = 1.0;

    /// <summary>Which statistics the prior matches: the per-channel moments, or the Gram matrix (the authors').</summary>
    public FeatureStyle Style { get; init; } = FeatureStyle.Moments;

    /// <summary>The model as a CLIP: partial inversion enters the layers of a ViT image tower by index.</summary>
    internal static ClipPipeline Clip(IVisionLanguageModel model) => model as ClipPipeline
        ?? throw new OptionException("inversion: partial inversion (--from-layer) enters a CLIP ViT's encoder layers; this model is not a CLIP");

    internal void Validate(ClipModel model)
    {
        var vision = model.Config.Vision;
        if (Layer < 0 || Layer > vision.NumHiddenLayers)
            throw new OptionException($"inversion: layer {Layer} does not exist: the vision encoder has layers 0 to {vision.NumHiddenLayers}");
        if (!Statistics.Mean.shape.SequenceEqual([(long)vision.HiddenSize]) || !Statistics.Std.shape.SequenceEqual([(long)vision.HiddenSize]))
            throw new OptionException($"inversion: feature statistics must have {vision.HiddenSize} channels, " +
                                      $"got mean [{string.Join(", ", Statistics.Mean.shape)}] and std [{string.Join(", ", Statistics.Std.shape)}]");
        if (Style == FeatureStyle.Gram && Statistics.Gram?.shape.SequenceEqual([(long)vision.HiddenSize, vision.HiddenSize]) != true)
            throw new OptionException($"inversion: the Gram prior needs the target's {vision.HiddenSize} × {vision.HiddenSize} Gram matrix " +
                                      $"(FeatureStatistics.Compute gives it), got {(Statistics.Gram is null ? "none" : $"[{string.Join(", ", Statistics.Gram.shape)}]")}");
        if (!double.IsFinite(StatisticsWeight) || StatisticsWeight < 0)
            throw new OptionException($"inversion: statistics weight must be ≥ 0, got {StatisticsWeight}");
    }
}

/// <summary>The statistics partial inversion's prior matches (<c>--style</c>).</summary>
public enum FeatureStyle
{
    /// <summary>Per-channel mean and standard deviation over an image's tokens (DeepInversion's choice).</summary>
    Moments,

    /// <summary>The channels' Gram matrix over an image's tokens (style transfer's, and the authors' helpers/style.py).</summary>
    Gram,
}

/// <summary>The objective of Eq. 4 over token features [N, tokens, width].</summary>
internal sealed class FeatureObjective(ClipModel model, PartialInversionOptions options) : IInversionObjective
{
    public Tensor Initial(long count, int size, Generator generator)
    {
        using var scope = NewDisposeScope();
        var vision = model.Config.Vision;
        var noise = randn([count, vision.GridSize * vision.GridSize + 1, vision.HiddenSize], generator: generator);
        return options.Statistics.Mean.Plus(options.Statistics.Std * noise).MoveToOuterDisposeScope();
    }

    public (Tensor Cosine, Tensor Regularizer) Evaluate(Tensor features, Tensor targets, Generator generator)
    {
        using var scope = NewDisposeScope();
        var imageFeatures = model.GetImageFeaturesFromLayer(features.to(model.DType), options.Layer).to(ScalarType.Float32);
        var cosine = (normalize(imageFeatures, dim: -1) * targets).sum(-1);
        var prior = options.Style == FeatureStyle.Gram
            ? FeatureStatistics.GramDistance(features.to(ScalarType.Float32), options.Statistics.Gram!.to(features.device))
            : StatisticsDistance(features);
        return (cosine.MoveToOuterDisposeScope(), prior.MoveToOuterDisposeScope());
    }

    /// <summary>Per image, the squared deviation of the per-channel mean and std (over the image's tokens) from the
    /// target's, in units of the target std and averaged over channels: scale-free, so one weight serves every layer
    /// of every model, and smooth at zero.</summary>
    private Tensor StatisticsDistance(Tensor features)
    {
        var (std, mean) = features.std_mean(1, unbiased: false);
        var target = options.Statistics;
        var scale = target.Std.to(features.device).AtLeast(1e-6);
        Tensor MeanSquare(Tensor deviation) => deviation.div(scale).square().mean([1]);
        return MeanSquare(mean - target.Mean.to(features.device)).Plus(MeanSquare(std - target.Std.to(features.device)));
    }

    public void Project(Tensor features)
    {
    }

    public Tensor Resize(Tensor features, int size) =>
        throw new InvalidOperationException("token features have no resolution to change");
}
