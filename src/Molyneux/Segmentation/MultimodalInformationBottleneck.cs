using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>M2IB's settings (Wang et al. 2023); the defaults are the authors' (scripts/methods.py, as MedCLIP-SAMv2
/// calls it: layer 9 of ViT-B's 12, β = 0.1, 10 steps of Adam at learning rate 1, 10 noise samples per step).</summary>
public sealed record BottleneckOptions
{
    /// <summary>The layer after which the bottleneck sits; null: the tower's <see cref="ISplitImageTower.DefaultSplitLayer"/>.</summary>
    public int? Layer { get; init; }

    /// <summary>Weight of the compression term against the fit to the text.</summary>
    public double Beta { get; init; } = 0.1;

    public int Steps { get; init; } = 10;

    public double LearningRate { get; init; } = 1;

    /// <summary>Noise samples per step (the authors' batch of copies of the image).</summary>
    public int Samples { get; init; } = 10;

    public long Seed { get; init; }

    internal void Validate()
    {
        if (Layer is < 1) throw new OptionException($"bottleneck layer {Layer}: layers count from 1");
        if (!(Beta >= 0) || double.IsInfinity(Beta)) throw new OptionException($"bottleneck β {Beta}: must be a number ≥ 0");
        if (Steps < 1) throw new OptionException($"bottleneck steps {Steps}: must be at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new OptionException($"bottleneck learning rate {LearningRate}: must be positive");
        if (Samples < 1) throw new OptionException($"bottleneck samples {Samples}: must be at least 1");
    }
}

/// <summary>What one bottleneck optimisation ended with: the map; the information (nats, summed over channels) that
/// passes at each grid position, row by row, before any scaling; and the two loss terms at the last step (the cosine
/// of the bottlenecked image features to the text, and the mean capacity in nats per state entry).</summary>
public sealed record BottleneckResult(SaliencyMap Map, IReadOnlyList<float> Information, double Fit, double Compression);

/// <summary>The Multi-modal Information Bottleneck attribution (M2IB, Wang et al. 2023), the saliency MedCLIP-SAMv2
/// segments from. After layer L of the image tower the states R are replaced by Z = λ ⊙ R + (1 − λ) ⊙ ε with
/// ε ~ N(μ, σ²) (<see cref="BottleneckPrior"/>) and a mask λ = sigmoid(α) per state entry, α starting at 5 (all
/// information passes). α is optimised with Adam to minimise β · mean KL[N(λ(R − μ)/σ, (1 − λ)²) ‖ N(0, 1)] −
/// cos(f_V(Z), f_T(text)): keep what the text needs, drop the rest. The saliency of a position is its KL summed
/// over channels (the information that had to pass there), upsampled over the image.
///
/// Differs from the authors' code in two places, neither changing the result with their prior N(0, 1): the states
/// are standardised by the prior before the KL (their code ignores the prior's mean and std, which only its N(0, 1)
/// makes harmless), and 1 − λ is computed as sigmoid(−α), so that λ rounding to 1 in float32 (α ≳ 17) does not make
/// the KL infinite.</summary>
public sealed class MultimodalInformationBottleneck : ISaliencyMethod
{
    /// <summary>The mask's starting logit: λ = sigmoid(5) ≈ 0.993, all information passes. Made once (LiveScalars).</summary>
    private static readonly Scalar InitialLogit = 5f;

    private readonly IVisionLanguageModel model;
    private readonly ISplitImageTower tower;
    private readonly BottleneckPrior prior;

    public MultimodalInformationBottleneck(IVisionLanguageModel model, BottleneckOptions options, BottleneckPrior prior)
    {
        options.Validate();
        tower = model as ISplitImageTower
            ?? throw new OptionException($"M2IB needs an image tower it can cut after a layer (CLIP ViT, ResNet dual encoder); {model.GetType().Name} is not one");
        Layer = options.Layer ?? tower.DefaultSplitLayer;
        if (Layer > tower.SplitLayerCount)
            throw new OptionException($"bottleneck layer {Layer} does not exist: the image tower has layers 1 to {tower.SplitLayerCount}");
        this.model = model;
        this.prior = prior;
        Options = options;
    }

    public BottleneckOptions Options { get; }

    public int Layer { get; }

    public string Description => $"m2ib (layer {Layer}, β {Options.Beta:g3}, {Options.Steps} steps, lr {Options.LearningRate:g3}, prior {prior.Description})";

    public SaliencyMap Explain(Tensor pixelValues, Tensor textFeature, int height, int width) =>
        Run(pixelValues, textFeature, height, width).Map;

    /// <summary>Optimises the bottleneck for one image and text; the model's weights are untouched (no gradient is
    /// kept on them) and the noise is drawn from <see cref="BottleneckOptions.Seed"/>, so the map is reproducible.</summary>
    public BottleneckResult Run(Tensor pixelValues, Tensor textFeature, int height, int width)
    {
        if (pixelValues.shape[0] != 1) throw new ArgumentException($"M2IB explains one image at a time, got a batch of {pixelValues.shape[0]}", nameof(pixelValues));
        using var scope = NewDisposeScope();
        using var frozen = new RequiresGradScope(model.Module, []);
        var device = pixelValues.device;
        Tensor states;
        TokenGrid grid;
        using (no_grad())
        {
            (states, grid) = tower.ImageTokensAfter(pixelValues, Layer);
            states = states.to(ScalarType.Float32).detach();
        }
        var mean = prior.Mean.to(device);
        var std = prior.Std.to(device);
        var standardized = states.sub(mean).div(std);
        var text = nn.functional.normalize(textFeature.to(ScalarType.Float32).to(device).reshape(1, -1), dim: -1);

        var logits = full(states.shape, InitialLogit, ScalarType.Float32, device).requires_grad_(true);
        var firstMoment = zeros_like(logits);
        var secondMoment = zeros_like(logits);
        using var generator = new Generator((ulong)Options.Seed, CPU);
        var noiseShape = new long[] { Options.Samples, states.shape[1], states.shape[2] };
        Tensor capacity = null!;
        double fit = 0, compression = 0;
        for (var step = 1; step <= Options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var keep = logits.sigmoid();
            var replace = logits.neg().sigmoid();
            var kl = KlToStandardNormal(keep.mul(standardized), replace.square(), nn.functional.logsigmoid(logits.neg()).Times(2));
            var noise = randn(noiseShape, generator: generator).to(device);
            var bottlenecked = keep.mul(states).Plus(replace.mul(mean.Plus(std.mul(noise))));
            var features = tower.ImageFeaturesFromTokens(bottlenecked.to(model.Device.DType), grid, Layer).to(ScalarType.Float32);
            var cosine = nn.functional.normalize(features, dim: -1).matmul(text.t()).mean();
            var klMean = kl.mean();
            var loss = klMean.Times(Options.Beta).sub(cosine);
            var gradient = autograd.grad([loss], [logits])[0];
            Adam.Update(logits, gradient, firstMoment, secondMoment, step, Options.LearningRate);
            fit = cosine.item<float>();
            compression = klMean.item<float>();
            capacity = kl.detach().squeeze(0).MoveToOuterDisposeScope();
        }
        var perToken = capacity.nan_to_num().sum(-1);
        var information = perToken[grid.Prefix..].cpu().data<float>().ToArray();
        return new BottleneckResult(SaliencyMaps.FromTokens(perToken, grid, height, width), information, fit, compression);
    }

    /// <summary>KL[N(μ, σ²) ‖ N(0, 1)] per entry, given σ² and its logarithm (computed stably by the caller).</summary>
    private static Tensor KlToStandardNormal(Tensor mean, Tensor variance, Tensor logVariance) =>
        logVariance.Plus(1.0).sub(mean.square()).sub(variance).Times(-0.5);
}
