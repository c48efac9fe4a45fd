using System.CommandLine;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Segmentation;

namespace Molyneux.Cli;

/// <summary>The saliency method and mask options <c>saliency</c> and <c>eval segment</c> share; the defaults are
/// M2IB's and MedCLIP-SAMv2's (<see cref="BottleneckOptions"/>, <see cref="MaskOptions"/>).</summary>
public sealed class SaliencyArguments
{
    private static readonly BottleneckOptions Bottleneck = new();
    private static readonly MaskOptions Masks = new();

    public Option<string> Method { get; } = Choice("--method", "m2ib: the multi-modal information bottleneck; gradcam: Grad-CAM of the image–text cosine; blob: a centred Gaussian that looks at nothing (a baseline)",
        "m2ib", "m2ib", "gradcam", "blob");

    public Option<int?> Layer { get; } = new("--layer") { Description = "Image-tower layer the method works after (1-based; a ResNet's stages 1–4); default three quarters of the way up" };

    public Option<double> Beta { get; } = new("--beta") { Description = "M2IB: weight of the compression term", DefaultValueFactory = _ => Bottleneck.Beta };

    public Option<int> Steps { get; } = new("--steps") { Description = "M2IB: optimisation steps", DefaultValueFactory = _ => Bottleneck.Steps };

    public Option<double> LearningRate { get; } = new("--lr") { Description = "M2IB: Adam learning rate of the mask", DefaultValueFactory = _ => Bottleneck.LearningRate };

    public Option<int> Samples { get; } = new("--samples") { Description = "M2IB: noise samples per step", DefaultValueFactory = _ => Bottleneck.Samples };

    public Option<double> Variance { get; } = new("--variance") { Description = "M2IB: the prior N(0, variance) the states are replaced with", DefaultValueFactory = _ => 1.0 };

    public Option<string?> PriorImages { get; } = new("--prior-images") { Description = "M2IB: estimate the prior's mean and std per state entry from these images (a folder or files) instead (IBA)" };

    public Option<long> Seed { get; } = new("--seed") { Description = "M2IB: seed of the noise", DefaultValueFactory = _ => Bottleneck.Seed };

    public Option<string> Threshold { get; } = Choice("--threshold", "How a map becomes a mask: kmeans (MedCLIP-SAMv2), otsu, quantile (--quantile), fixed (--level on the map scaled to [0, 1])",
        "kmeans", "kmeans", "otsu", "quantile", "fixed");

    public Option<double> Quantile { get; } = new("--quantile") { Description = "For --threshold quantile: keep the pixels above this quantile", DefaultValueFactory = _ => Masks.Quantile };

    public Option<double> Level { get; } = new("--level") { Description = "For --threshold fixed", DefaultValueFactory = _ => Masks.Threshold };

    public Option<string> Components { get; } = Choice("--components", "Connected components kept: largest, or all of at least --min-pixels", "largest", "largest", "all");

    public Option<int> MinPixels { get; } = new("--min-pixels") { Description = "Components smaller than this are dropped", DefaultValueFactory = _ => Masks.MinimumPixels };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Method, Layer, Beta, Steps, LearningRate, Samples, Variance, PriorImages, Seed, Threshold, Quantile, Level, Components, MinPixels })
            command.Options.Add(option);
    }

    /// <summary>The method on <paramref name="model"/>; the prior images, if any, are read and encoded here.</summary>
    public ISaliencyMethod Create(ParseResult parse, IVisionLanguageModel model) => parse.GetValue(Method) switch
    {
        "gradcam" => new GradCam(model, parse.GetValue(Layer)),
        "blob" => new CenteredBlob(),
        _ => CreateBottleneck(parse, model),
    };

    public MaskOptions MaskOptions(ParseResult parse) => Masks with
    {
        Method = parse.GetValue(Threshold) switch
        {
            "otsu" => MaskMethod.Otsu,
            "quantile" => MaskMethod.Quantile,
            "fixed" => MaskMethod.Fixed,
            _ => MaskMethod.KMeans,
        },
        Quantile = parse.GetValue(Quantile),
        Threshold = parse.GetValue(Level),
        Components = parse.GetValue(Components) == "all" ? ComponentSelection.AllAboveSize : ComponentSelection.Largest,
        MinimumPixels = parse.GetValue(MinPixels),
    };

    private MultimodalInformationBottleneck CreateBottleneck(ParseResult parse, IVisionLanguageModel model)
    {
        var options = new BottleneckOptions
        {
            Layer = parse.GetValue(Layer),
            Beta = parse.GetValue(Beta),
            Steps = parse.GetValue(Steps),
            LearningRate = parse.GetValue(LearningRate),
            Samples = parse.GetValue(Samples),
            Seed = parse.GetValue(Seed),
        };
        var prior = parse.GetValue(PriorImages) is { } source ? EstimatedPrior(model, source, options) : BottleneckPrior.Standard(parse.GetValue(Variance));
        return new MultimodalInformationBottleneck(model, options, prior);
    }

    private static BottleneckPrior EstimatedPrior(IVisionLanguageModel model, string source, BottleneckOptions options)
    {
        var files = ImageFiles.Expand([source]);
        if (model is not ISplitImageTower tower)
            throw new OptionException($"--prior-images: {model.GetType().Name} has no image tower to cut after a layer");
        using var scope = TorchSharp.torch.NewDisposeScope();
        var inputs = TorchSharp.torch.cat(files.Select(file => SaliencyMaps.ModelInput(model, ImageDecoder.Load(file))).ToList());
        return BottleneckPrior.Estimate(tower, inputs, options.Layer ?? tower.DefaultSplitLayer);
    }

    private static Option<string> Choice(string name, string description, string defaultValue, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
