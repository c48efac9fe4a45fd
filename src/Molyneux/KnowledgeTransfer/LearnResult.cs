using Molyneux.Checkpoints;
using Molyneux.Modeling;

namespace Molyneux.KnowledgeTransfer;

/// <summary>One point of <c>learn</c>'s grid: what fine-tuning trains, at which learning rate, how strongly it is held
/// to the frozen model (<see cref="FeatureDistillation"/>; 0: not at all), and for a captioner the weight λ2 of its
/// captioning loss (null for a model that writes no captions).</summary>
public sealed record TrialConfiguration(TrainMode Train, double LearningRate, double DistillWeight = 0, double? CaptionWeight = null)
{
    /// <summary>"--train image, lr 1e-5", with ", distill W" when it distils and ", caption λ2" for a captioner: how
    /// the CLI and the reports name it.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"--train {FineTuneOptions.TrainModeName(Train)}, lr {LearningRate:0.###e-0}") +
        (DistillWeight > 0 ? FormattableString.Invariant($", distill {DistillWeight:0.###}") : "") +
        (CaptionWeight is { } weight ? FormattableString.Invariant($", caption {weight:0.###}") : "");
}

/// <summary>One fine-tuning configuration tried. <see cref="TargetGain"/> (mean gain over the taught concepts in
/// <see cref="ConceptAccuracy.Target"/>), <see cref="Forgetting"/> (reference top-1 lost; for a captioner, reference
/// CIDEr-D lost) and <see cref="WithinBound"/> are measured on the selection images, which is all the choice
/// reads; <see cref="After"/> is the test images' accuracies, reported only.</summary>
/// <param name="Selection">The accuracies the choice saw: validation images, or held-out inverted images with the
/// reference set's validation part; with no selection, the test images.</param>
/// <param name="Configuration">The fine-tuning settings this trial used (mode, learning rate, distillation weight).</param>
/// <param name="Hits">Per image, whether the fine-tuned model classified it right: what paired bootstrap intervals resample.</param>
/// <param name="After">The fine-tuned model's accuracies on the test images; reported, never read by the choice.</param>
/// <param name="TargetGain">Mean gain in <see cref="ConceptAccuracy.Target"/> over the taught concepts on the selection images.</param>
/// <param name="Forgetting">Reference top-1 lost on the selection images; for a captioner, the CIDEr-D of its reference captions lost.</param>
/// <param name="WithinBound">Whether the forgetting stayed within the allowed bound: only such trials can be chosen.</param>
/// <param name="Losses">The loss of every fine-tuning step.</param>
public sealed record TrialResult(TrialConfiguration Configuration, KnowledgeHits Hits, KnowledgeMeasurement Selection, KnowledgeMeasurement After,
    double TargetGain, double Forgetting, bool WithinBound, IReadOnlyList<double> Losses);

/// <summary>A configuration that could not be run (it diverged, or the mode does not apply), with the reason.</summary>
public sealed record FailedTrial(TrialConfiguration Configuration, string Reason);

/// <summary>The configurations of one grid run on one kind of images (inverted, or noise for the control) and the
/// one chosen among them.</summary>
public sealed record GridResult(TrialResult Chosen, IReadOnlyList<TrialResult> Trials, IReadOnlyList<FailedTrial> Failed);

/// <summary>The result of <see cref="ConceptLearner.Learn(Func{IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?, IReadOnlyList{int}?)"/>, self-describing: what was asked (the options, the
/// concepts, the reference, the base model) beside what came of it, so that a report needs nothing else.
/// <see cref="Model"/> is the chosen fine-tuned model; every accuracy without "selection" in its name is on the test
/// images of <see cref="Split"/>.</summary>
public sealed class LearnResult(LearnOptions options, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference, CheckpointSource? baseSource,
    string baseIdentity, RealImageSplit split, KnowledgeHits beforeHits, KnowledgeMeasurement beforeSelection,
    GridResult grid, GridResult? noiseGrid, IReadOnlyList<string> notes, InversionResult inversion, IVisionLanguageModel model, IReadOnlyList<int> taught) : IDisposable
{
    /// <summary>The options the run was made under (with <c>--inverted</c>, the images per concept the saved inversion had).</summary>
    public LearnOptions Options { get; } = options;

    /// <summary>Every concept measured, in order (not owned: their images belong to the caller).</summary>
    public IReadOnlyList<TeachableConcept> Concepts { get; } = concepts;

    public ReferenceClasses Reference { get; } = reference;

    /// <summary>Where the base model was read from; null for one never saved.</summary>
    public CheckpointSource? BaseSource { get; } = baseSource;

    /// <summary>The base model's identity (<see cref="IVisionLanguageModel.Identity"/>).</summary>
    public string BaseIdentity { get; } = baseIdentity;

    /// <summary>The concepts fine-tuning taught (indices into the concepts measured): all of them, or one with
    /// <see cref="ConceptLearner.LearnEach(Func{IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?)"/>.</summary>
    public IReadOnlyList<int> Taught { get; } = taught;

    public TrialSelection Selection => Options.Selection;

    public RealImageSplit Split { get; } = split;

    public KnowledgeHits BeforeHits { get; } = beforeHits;

    public KnowledgeMeasurement Before { get; } = beforeHits.On(split.ConceptTest, split.ReferenceTest);

    /// <summary>The base model on the selection images, against which each trial's gain was chosen.</summary>
    public KnowledgeMeasurement BeforeSelection { get; } = beforeSelection;

    public GridResult Grid { get; } = grid;

    public TrialResult Chosen => Grid.Chosen;

    public IReadOnlyList<TrialResult> Trials => Grid.Trials;

    /// <summary>The noise control's grid, chosen by the same rule on the same selection images; null without it.</summary>
    public GridResult? NoiseGrid { get; } = noiseGrid;

    public KnowledgeMeasurement? NoiseControl => NoiseGrid?.Chosen.After;

    /// <summary>What the run decided by itself and the user should know (a mode left out of the grid, and why).</summary>
    public IReadOnlyList<string> Notes { get; } = notes;

    public InversionResult Inversion { get; } = inversion;

    public IVisionLanguageModel Model { get; } = model;

    public void Dispose()
    {
        Inversion.Dispose();
        Model.Dispose();
    }
}
