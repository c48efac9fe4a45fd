using System.CommandLine;
using System.Globalization;
using Molyneux.KnowledgeTransfer;

namespace Molyneux.Cli;

/// <summary>The inversion options <c>learn</c>, <c>demo</c> and <c>invert</c> share. Defaults are
/// <see cref="InversionOptions"/>' except <c>--copies</c>, which is the authors' one augmented copy per image.</summary>
public sealed class InversionArguments
{
    private static readonly InversionOptions Defaults = new();

    public Option<int> Steps { get; } = new("--steps") { Description = "Inversion steps (the paper: 5000)", DefaultValueFactory = _ => Defaults.Steps };

    public Option<int> ImagesPerConcept { get; } = new("--images-per-concept") { Description = "Images inverted per concept, dealt out over its descriptions", DefaultValueFactory = _ => Defaults.ImagesPerConcept };

    public Option<int> Copies { get; } = new("--copies") { Description = "Augmented copies of each image per inversion step, their cosines averaged (the authors: 1; Kazemi et al.: 13)", DefaultValueFactory = _ => 1 };

    public Option<double> LearningRate { get; } = new("--inversion-lr") { Description = "Adam's learning rate for the pixels, cosine-annealed over each resolution stage", DefaultValueFactory = _ => Defaults.LearningRate };

    public Option<double> TotalVariationWeight { get; } = new("--tv-weight") { Description = "α of Eq. 3, the total-variation weight", DefaultValueFactory = _ => Defaults.TotalVariationWeight };

    public Option<string> ScaleRange { get; } = new("--scale-range")
    {
        Description = "Zoom range of the random affine augmentation, MIN,MAX (the authors' code: 0.7,1.2; the paper's text: 0.7,1.0)",
        DefaultValueFactory = _ => string.Create(CultureInfo.InvariantCulture, $"{Defaults.Augmentation.MinScale},{Defaults.Augmentation.MaxScale}"),
    };

    public Option<string?> Resolutions { get; } = new("--resolutions")
    {
        Description = "Progressive resolution: the sizes in order, the last the model's image size (the authors: 64,128,224); default: the model's size throughout",
    };

    public Option<string?> ResolutionSteps { get; } = new("--resolution-steps") { Description = "The step at which each size after the first starts (the authors: 900,1800)" };

    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed of the starting noise and the augmentations (for learn and demo, of the image splits too); the same seed repeats a run", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Steps, ImagesPerConcept, Copies, LearningRate, TotalVariationWeight, ScaleRange, Resolutions, ResolutionSteps, Seed })
            command.Options.Add(option);
    }

    /// <summary>The options, checked as far as they can be without the model (its image size bounds the resolutions,
    /// checked when inversion starts, before its first step).</summary>
    public InversionOptions Options(ParseResult parse)
    {
        var steps = parse.GetValue(Steps);
        if (steps <= 0) throw new OptionException($"--steps: must be positive, got {steps}");
        var (images, copies) = (parse.GetValue(ImagesPerConcept), parse.GetValue(Copies));
        if (images <= 0) throw new OptionException($"--images-per-concept: must be positive, got {images}");
        if (copies <= 0) throw new OptionException($"--copies: must be positive, got {copies}");
        var learningRate = parse.GetValue(LearningRate);
        if (!(learningRate > 0) || !double.IsFinite(learningRate)) throw new OptionException($"--inversion-lr: must be positive, got {learningRate}");
        var tvWeight = parse.GetValue(TotalVariationWeight);
        if (!(tvWeight >= 0) || !double.IsFinite(tvWeight)) throw new OptionException($"--tv-weight: must be ≥ 0, got {tvWeight}");
        var scales = NumberList.Parse(ScaleRange.Name, parse.GetValue(ScaleRange)!);
        if (scales is not [var minScale, var maxScale] || !(minScale > 0) || !(maxScale >= minScale))
            throw new OptionException($"--scale-range: expected MIN,MAX with 0 < MIN ≤ MAX, got '{parse.GetValue(ScaleRange)}'");
        return new InversionOptions
        {
            Steps = steps,
            ImagesPerConcept = images,
            AugmentedCopies = copies,
            LearningRate = learningRate,
            TotalVariationWeight = tvWeight,
            Augmentation = Defaults.Augmentation with { MinScale = minScale, MaxScale = maxScale },
            Resolutions = Stages(parse),
            Seed = parse.GetValue(Seed),
        };
    }

    private IReadOnlyList<ResolutionStage>? Stages(ParseResult parse)
    {
        var (sizes, starts) = (parse.GetValue(Resolutions), parse.GetValue(ResolutionSteps));
        if (sizes is null)
            return starts is null ? null : throw new OptionException("--resolution-steps: needs --resolutions (the sizes whose starts it gives)");
        var sizeList = NumberList.Parse(Resolutions.Name, sizes);
        var startList = starts is null ? [] : NumberList.Parse(ResolutionSteps.Name, starts);
        if (startList.Count != sizeList.Count - 1)
            throw new OptionException($"--resolution-steps: {sizeList.Count} sizes need {sizeList.Count - 1} start steps (the first size starts at step 0), got {startList.Count}");
        if (sizeList.Concat(startList).Any(value => value != Math.Floor(value) || value < 0))
            throw new OptionException("--resolutions and --resolution-steps take whole non-negative numbers");
        return sizeList.Select((size, i) => new ResolutionStage(i == 0 ? 0 : (int)startList[i - 1], (int)size)).ToList();
    }
}
