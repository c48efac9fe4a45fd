using System.Globalization;
using System.Text.Json.Serialization;
using Molyneux.Modeling;
using Molyneux.Training;

namespace Molyneux.KnowledgeTransfer;

/// <summary>From step <see cref="FromStep"/> (0-based) on, images are optimised at <see cref="Size"/>² pixels.</summary>
public readonly record struct ResolutionStage(int FromStep, int Size);

/// <summary>Settings of <see cref="Inversion"/>. Defaults follow the paper and the reference code (Kazemi et al.'s
/// CLIPInversion invert.py; the Knowledge Transfer authors' biomedclip_invert.py), except where noted.</summary>
public sealed record InversionOptions
{
    /// <summary>Optimisation steps (5000; the reference scripts default to 3000 and 3400).</summary>
    public int Steps { get; init; } = 5000;

    /// <summary>Images synthesised per concept description (10, the Knowledge Transfer script's batch size).</summary>
    public int ImagesPerConcept { get; init; } = 10;

    /// <summary>Augmented copies of each image per step, whose cosines are averaged: Kazemi et al.'s 13 (their
    /// batch of one image repeated). The Knowledge Transfer script augments each of its 10 images once, which
    /// is 1 here and 13 times cheaper, the sensible choice on a CPU.</summary>
    public int AugmentedCopies { get; init; } = 13;

    /// <summary>Adam's learning rate (both references: 0.1).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Cosine annealing from <see cref="LearningRate"/> down to <see cref="MinLearningRate"/> over each
    /// resolution stage, restarting with Adam at each resolution change as the reference re-creates its scheduler
    /// there. Off: a constant rate.</summary>
    public bool CosineAnnealing { get; init; } = true;

    public double MinLearningRate { get; init; }

    /// <summary>Each image's gradient is clipped to this L2 norm (the references' clip_grad_norm_ at 1.0). The
    /// references clip the whole batch tensor at once, which is the same for their batch of one concept; clipping
    /// per image keeps images optimised in one batch independent of each other.</summary>
    public double MaxGradientNorm { get; init; } = 1.0;

    /// <summary>α of Eq. 3, the weight of the total-variation prior (both references: 0.005).</summary>
    public double TotalVariationWeight { get; init; } = 0.005;

    public TotalVariationForm TotalVariationForm { get; init; } = TotalVariationForm.Kazemi;

    public RandomAffineOptions Augmentation { get; init; } = new();

    /// <summary>Progressive resolution: the stages in order, the first from step 0, the last at the model's image
    /// size (<see cref="ReferenceResolutions"/> is the references' 64 → 128 → full size). Images at a lower size
    /// are upsampled bicubically to the model's size after augmentation; at each change they are resized
    /// bicubically and Adam restarts. Null: the model's size throughout.</summary>
    public IReadOnlyList<ResolutionStage>? Resolutions { get; init; }

    /// <summary>Seeds the generator behind the initial noise and every augmentation.</summary>
    public long Seed { get; init; }

    /// <summary>Invert token features entering a vision-encoder layer instead of pixels (Eq. 4); null: pixels.
    /// Not serialised with the options (its statistics are tensors): <c>invert</c>'s inverted.json records the layer,
    /// and <c>learn</c>, which inverts pixels only, refuses it.</summary>
    [JsonIgnore]
    public PartialInversionOptions? Partial { get; init; }

    /// <summary>With <see cref="StatePath"/>, saves an <see cref="InversionState"/> there every this many steps,
    /// from which <see cref="Inversion"/>
    /// can resume. 0: never.</summary>
    public int SaveStateEvery { get; init; }

    public string? StatePath { get; init; }

    /// <summary>The references' schedule: 64 px, 128 px from step 900, the model's size from step 1800.</summary>
    public static IReadOnlyList<ResolutionStage> ReferenceResolutions(int imageSize) =>
        [new(0, 64), new(900, 128), new(1800, imageSize)];

    internal IReadOnlyList<ResolutionStage> ResolvedResolutions(int imageSize) =>
        Partial is null && Resolutions is not null ? Resolutions : [new(0, imageSize)];

    internal void Validate(IVisionLanguageModel model)
    {
        var imageSize = model.ImageSize;
        static void Require(bool condition, string problem)
        {
            if (!condition) throw new OptionException($"inversion: {problem}");
        }
        Require(Steps > 0, $"steps must be positive, got {Steps}");
        Require(ImagesPerConcept > 0, $"images per concept must be positive, got {ImagesPerConcept}");
        Require(AugmentedCopies > 0, $"augmented copies must be positive, got {AugmentedCopies}");
        Require(double.IsFinite(LearningRate) && LearningRate > 0, $"learning rate must be positive, got {LearningRate}");
        Require(double.IsFinite(MinLearningRate) && MinLearningRate >= 0 && MinLearningRate <= LearningRate,
            $"minimum learning rate must be in [0, {LearningRate}], got {MinLearningRate}");
        Require(double.IsFinite(MaxGradientNorm) && MaxGradientNorm > 0, $"maximum gradient norm must be positive, got {MaxGradientNorm}");
        Require(double.IsFinite(TotalVariationWeight) && TotalVariationWeight >= 0, $"total-variation weight must be ≥ 0, got {TotalVariationWeight}");
        Require(Enum.IsDefined(TotalVariationForm), $"unknown total-variation form {TotalVariationForm}");
        Require(SaveStateEvery >= 0, $"save-state interval must be ≥ 0, got {SaveStateEvery}");
        Require(SaveStateEvery == 0 || !string.IsNullOrEmpty(StatePath), "saving the state needs a state path");
        Augmentation.Validate();
        Partial?.Validate(PartialInversionOptions.Clip(model).Model);

        var stages = ResolvedResolutions(imageSize);
        Require(stages.Count > 0 && stages[0].FromStep == 0, "the first resolution stage must start at step 0");
        for (var i = 0; i < stages.Count; i++)
        {
            Require(stages[i].Size is > 1 and <= Imaging.ImageDecoder.MaxSide, $"resolution {stages[i].Size} is out of range");
            Require(stages[i].FromStep < Steps, $"resolution stage at step {stages[i].FromStep} starts after the last step ({Steps})");
            Require(i == 0 || stages[i].FromStep > stages[i - 1].FromStep, "resolution stages must start at increasing steps");
        }
        Require(stages[^1].Size == imageSize,
            $"the last resolution must be the model's image size {imageSize}, got {stages[^1].Size}");
    }

    /// <summary>Every setting that shapes the trajectory, so a saved state is resumed only under the same ones.</summary>
    internal string Fingerprint(int imageSize)
    {
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        var augmentation = Augmentation;
        return string.Join(";",
            $"steps={Steps}", $"copies={AugmentedCopies}", $"lr={Number(LearningRate)}", $"min_lr={Number(MinLearningRate)}",
            $"cosine={CosineAnnealing}", $"clip={Number(MaxGradientNorm)}", $"tv={Number(TotalVariationWeight)}:{TotalVariationForm}",
            $"affine={Number(augmentation.MaxRotationDegrees)},{Number(augmentation.MaxTranslation)},{Number(augmentation.MinScale)}," +
            $"{Number(augmentation.MaxScale)},{Number(augmentation.Probability)}",
            $"resolutions={string.Join(",", ResolvedResolutions(imageSize).Select(stage => $"{stage.FromStep}:{stage.Size}"))}",
            $"seed={Seed}",
            Partial is null ? "pixels" : $"partial={Partial.Layer}:{Number(Partial.StatisticsWeight)}:{Partial.Style}");
    }
}
