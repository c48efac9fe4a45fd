namespace Molyneux.KnowledgeTransfer;

/// <summary>How <c>learn</c> chooses among its fine-tuning configurations (<c>--select</c>).</summary>
public enum TrialSelection
{
    /// <summary>On a seeded validation part of each concept's real images and of the reference set; every reported
    /// figure is on the rest (test).</summary>
    Validation,

    /// <summary>Without any real image of the concepts, as a user teaching from text alone must: on extra inverted
    /// images that fine-tuning never sees (their name-prompt top-1), under the forgetting bound on the reference
    /// set's validation part. Every real image of the concepts is a test image.</summary>
    Inverted,

    /// <summary>No choice: the grid must hold one configuration; every image is a test image.</summary>
    None,
}

public sealed record LearnOptions
{
    public InversionOptions Inversion { get; init; } = new();

    /// <summary>The fine-tuning recipe; its Train, LearningRate and DistillWeight are the grid's.</summary>
    public FineTuneOptions FineTune { get; init; } = new();

    public CaptionMode Caption { get; init; } = CaptionMode.NameAndDescription;

    /// <summary>How a concept's name becomes a prompt ({} = the name).</summary>
    public string NameTemplate { get; init; } = "{}";

    /// <summary>Reference classes joining the concepts as candidates in the small candidate set.</summary>
    public int Distractors { get; init; } = 50;

    /// <summary>The training modes tried; the paper's image tower by default.</summary>
    public IReadOnlyList<TrainMode> TrainModes { get; init; } = [TrainMode.Image];

    /// <summary>What <c>--train auto</c> searches: the paper's image tower, and the two ways of grounding the name on
    /// the text side.</summary>
    public static IReadOnlyList<TrainMode> AutoTrainModes { get; } = [TrainMode.Image, TrainMode.Text, TrainMode.Token];

    /// <summary>What <c>--lr auto</c> searches: half-decade steps from the middle of the paper's sweep (1e-6 to 1e-4)
    /// to textual inversion's usual 1e-3. Decade steps are too coarse: on the shapes world the text tower teaches
    /// 25–32 % of the names at 1e-4 and 79–94 % at 1e-3 but loses 19–28 points of reference accuracy there, while
    /// 3e-4 teaches 56–74 % for at most 3.9 points.</summary>
    public static IReadOnlyList<double> AutoLearningRates { get; } = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3];

    public IReadOnlyList<double> LearningRates { get; init; } = [1e-5];

    /// <summary>The distillation weights tried (<see cref="FeatureDistillation"/>): 0 alone, the paper's recipe, by
    /// default. Token trials take 0 only: a concept token changes no other prompt, so there is nothing to hold.</summary>
    public IReadOnlyList<double> DistillWeights { get; init; } = [0];

    /// <summary>The captioning-loss weights λ2 tried for a captioner (<see cref="FineTuneOptions.CaptionWeight"/>): the
    /// paper's 0.1 alone by default. A model that writes no captions ignores them.</summary>
    public IReadOnlyList<double> CaptionWeights { get; init; } = [new FineTuneOptions().CaptionWeight];

    /// <summary>A captions file of ordinary images whose captions every trial of a captioner replays with the captioning
    /// loss (<see cref="CaptionReplay"/>; not in the paper); null: none. Its images must show none of the concepts,
    /// or their captions would teach from real images.</summary>
    public string? ReplayCaptions { get; init; }

    /// <summary>The most reference top-1 (a fraction) a chosen configuration may lose, measured on the reference
    /// set's validation part.</summary>
    public double ForgettingBound { get; init; } = 0.01;

    /// <summary>For a captioner whose reference set has captions, the bound is on what it matters for instead: the most
    /// CIDEr-D of its reference captions a chosen configuration may lose (on the validation part).</summary>
    public double CaptionForgettingBound { get; init; } = 0.1;

    public TrialSelection Selection { get; init; } = TrialSelection.Validation;

    /// <summary>The share of each concept's real images (and of the reference images) that validation takes.</summary>
    public double ValidationFraction { get; init; } = RealImageSplit.DefaultValidationFraction;

    /// <summary>With <see cref="TrialSelection.Inverted"/>: extra images inverted per concept to choose on, never
    /// fine-tuned on.</summary>
    public int HeldOutInvertedPerConcept { get; init; } = 5;

    /// <summary>Also run the whole grid on pure-noise images, chosen by the same rule on the same selection images:
    /// the control that shows whether the inverted images carry the concept.</summary>
    public bool NoiseControl { get; init; }

    /// <summary>Teach each concept alone from the base model, as the paper's Table 1 (<see cref="ConceptLearner.LearnEach(Func{Modeling.IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?)"/>),
    /// instead of all together.</summary>
    public bool PerConcept { get; init; }

    public int Seed { get; init; }

    /// <summary>Every setting checked before any work starts.</summary>
    public void Validate()
    {
        if (TrainModes.Count == 0 || LearningRates.Count == 0) throw new OptionException("the grid needs at least one training mode and one learning rate");
        if (LearningRates.Any(rate => !(rate > 0) || !double.IsFinite(rate))) throw new OptionException($"--lr: every learning rate must be positive, got {string.Join(", ", LearningRates)}");
        if (DistillWeights.Count == 0 || DistillWeights.Any(weight => !(weight >= 0) || !double.IsFinite(weight)))
            throw new OptionException($"--distill: every weight must be finite and at least 0, got {string.Join(", ", DistillWeights)}");
        if (CaptionWeights.Count == 0 || CaptionWeights.Any(weight => !(weight >= 0) || !double.IsFinite(weight)))
            throw new OptionException($"--caption-weight: every weight must be finite and at least 0, got {string.Join(", ", CaptionWeights)}");
        if (Selection == TrialSelection.None && TrainModes.Count * LearningRates.Count * DistillWeights.Count * CaptionWeights.Count > 1)
            throw new OptionException($"--select none: runs one configuration, but the grid has {TrainModes.Count} training mode(s) × {LearningRates.Count} learning rate(s)" +
                                      $"{(DistillWeights.Count > 1 ? $" × {DistillWeights.Count} distillation weights" : "")}" +
                                      $"{(CaptionWeights.Count > 1 ? $" × {CaptionWeights.Count} caption weights" : "")}; " +
                                      "give one --train, one --lr, one --distill and one --caption-weight, or choose with --select validation|inverted");
        if (FineTune.Lora is not null && TrainModes.Any(mode => mode != TrainMode.Image))
            throw new OptionException($"--lora: adapts the image tower, so every trial must train it (--train image), got {string.Join(", ", TrainModes).ToLowerInvariant()}");
        if (ValidationFraction is <= 0 or >= 1) throw new OptionException($"--validation-fraction: must be between 0 and 1 (exclusive), got {ValidationFraction}");
        if (Selection == TrialSelection.Inverted && HeldOutInvertedPerConcept < 1)
            throw new OptionException($"--select inverted: needs at least one held-out inverted image per concept, got {HeldOutInvertedPerConcept}");
        if (!(CaptionForgettingBound >= 0)) throw new OptionException($"--cider-bound: must not be negative, got {CaptionForgettingBound}");
        if (ReplayCaptions is { } replay && !File.Exists(replay)) throw new OptionException($"--replay: {Path.GetFullPath(replay)}: no such captions file");
        if (ReplayCaptions is not null && CaptionWeights.Contains(0))
            throw new OptionException(CaptionReplay.NeedsCaptioningLoss);
        if (!(ForgettingBound >= 0)) throw new OptionException($"--forgetting-bound: must not be negative, got {100 * ForgettingBound}");
        if (Distractors < 0) throw new OptionException($"--distractors: must not be negative, got {Distractors}");
        if (Inversion.Partial is not null)
            throw new OptionException("learn inverts pixels; partial inversion (Eq. 4) is molyneux invert --from-layer followed by molyneux finetune");
    }

    public static TrialSelection ParseSelection(string value) => value switch
    {
        "validation" => TrialSelection.Validation,
        "inverted" => TrialSelection.Inverted,
        "none" => TrialSelection.None,
        _ => throw new OptionException($"--select: '{value}' is not a selection (expected validation, inverted or none)"),
    };
}
