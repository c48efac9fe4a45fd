using System.Text.RegularExpressions;
using Molyneux.Evaluation;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Zero-shot top-1 on a concept's real images: prompted by its name among the concepts and a few
/// reference distractors, by its description (classification by description) among the same, and by its name
/// among the concepts and every reference class; for a captioner, also the fraction of the images whose greedy
/// caption names the concept.</summary>
public sealed record ConceptAccuracy(string Name, double NameTop1, double DescriptionTop1, double NameTop1AllClasses, double? NameInCaption = null)
{
    /// <summary>What teaching the concept aims at: for a captioner, the share of its captions that name it (what a
    /// captioner is for); otherwise the name prompt's top-1.</summary>
    public double Target => NameInCaption ?? NameTop1;
}

/// <summary>Accuracies of one model on a part of the images (validation, test, or held-out inverted images); for a
/// captioner with reference captions, also the mean CIDEr-D of its captions of the reference images.</summary>
public sealed record KnowledgeMeasurement(IReadOnlyList<ConceptAccuracy> Concepts, double ReferenceTop1, double? ReferenceCiderD = null)
{
    public double MeanNameTop1 => Concepts.Average(c => c.NameTop1);

    /// <summary>The mean over concepts of <see cref="ConceptAccuracy.Target"/>.</summary>
    public double MeanTarget => Concepts.Average(c => c.Target);

    /// <summary>What teaching cost on the reference images from <paramref name="before"/> to this: for a captioner
    /// measured with reference captions, the CIDEr-D lost; otherwise the top-1 lost (a fraction).</summary>
    public double ForgettingSince(KnowledgeMeasurement before) =>
        ReferenceCiderD is { } cider && before.ReferenceCiderD is { } ciderBefore ? ciderBefore - cider : before.ReferenceTop1 - ReferenceTop1;

    /// <summary>The mean over concepts of the share of captions naming the concept; null for a model that writes none.</summary>
    public double? MeanNameInCaption => Concepts.All(c => c.NameInCaption is not null) ? Concepts.Average(c => c.NameInCaption!.Value) : null;
}

/// <summary>Whether the model's top-1 was right on each of a concept's images, under each kind of prompt, and, for
/// a captioner, its greedy caption of each image.</summary>
public sealed record ConceptHits(string Name, bool[] ByName, bool[] ByDescription, bool[] ByNameAllClasses, IReadOnlyList<string>? Captions = null)
{
    /// <summary>Per image, whether its caption names the concept (<see cref="Mentions"/>); null without captions.</summary>
    public bool[]? NameInCaption { get; } = Captions?.Select(caption => Mentions(caption, Name)).ToArray();

    /// <summary>Whether <paramref name="caption"/> contains <paramref name="name"/> as whole words, ignoring case (a
    /// caption's words are lower case after BPE decoding; "moongates" does not count).</summary>
    public static bool Mentions(string caption, string name) =>
        Regex.IsMatch(caption, $@"(?<![\p{{L}}\p{{N}}]){Regex.Escape(name)}(?![\p{{L}}\p{{N}}])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}

/// <summary>One model's per-image outcomes on every image it was measured on: each concept's and the reference
/// set's. Accuracies on any part of the images (<see cref="On"/>) and bootstrap intervals
/// (<see cref="NameTop1Interval"/>, <see cref="GainInterval"/>) are read off them, so one measurement serves the
/// choice (validation) and the report (test) without a second pass.</summary>
/// <param name="Concepts">Each concept's per-image outcomes.</param>
/// <param name="Reference">Per reference image, whether its zero-shot top-1 was right.</param>
/// <param name="ReferenceCaptions">A captioner's greedy caption of each reference image, when the reference set has
/// reference captions; else null.</param>
/// <param name="ReferenceCiderD">Per reference image, the CIDEr-D of <paramref name="ReferenceCaptions"/> against its
/// references (IDF over every reference image's references, so the scores of two models compare image by image).</param>
public sealed record KnowledgeHits(IReadOnlyList<ConceptHits> Concepts, bool[] Reference, IReadOnlyList<string>? ReferenceCaptions = null, double[]? ReferenceCiderD = null)
{
    /// <summary>Accuracies on the given images of each concept and of the reference set.</summary>
    public KnowledgeMeasurement On(IReadOnlyList<int[]> conceptImages, int[] referenceImages) =>
        new(Concepts.Select((concept, c) => new ConceptAccuracy(concept.Name, Fraction(concept.ByName, conceptImages[c]),
                Fraction(concept.ByDescription, conceptImages[c]), Fraction(concept.ByNameAllClasses, conceptImages[c]),
                concept.NameInCaption is { } named ? Fraction(named, conceptImages[c]) : null)).ToList(),
            Fraction(Reference, referenceImages), ReferenceCiderD is { } cider && referenceImages.Length > 0 ? referenceImages.Average(i => cider[i]) : null);

    /// <summary>95 % interval of the mean over concepts of the share of captions naming the concept.</summary>
    public Interval NameInCaptionInterval(IReadOnlyList<int[]> conceptImages, int seed = 0) =>
        Bootstrap.MacroMean(CaptionGroups(this, null, conceptImages), seed: seed);

    /// <summary>95 % interval of the paired gain in the share of captions naming the concept.</summary>
    public static Interval CaptionGainInterval(KnowledgeHits before, KnowledgeHits after, IReadOnlyList<int[]> conceptImages, int seed = 0) =>
        Bootstrap.MacroMean(CaptionGroups(after, before, conceptImages), seed: seed);

    /// <summary>95 % interval of the mean CIDEr-D on the given reference images.</summary>
    public Interval ReferenceCiderInterval(int[] referenceImages, int seed = 0) =>
        Bootstrap.MacroMean([referenceImages.Select(i => ReferenceCiderD![i]).ToList()], seed: seed);

    /// <summary>95 % interval of the paired CIDEr-D lost on the reference images from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static Interval CiderLostInterval(KnowledgeHits before, KnowledgeHits after, int[] referenceImages, int seed = 0) =>
        Bootstrap.MacroMean([referenceImages.Select(i => before.ReferenceCiderD![i] - after.ReferenceCiderD![i]).ToList()], seed: seed);

    private static IReadOnlyList<IReadOnlyList<double>> CaptionGroups(KnowledgeHits hits, KnowledgeHits? baseline, IReadOnlyList<int[]> conceptImages) =>
        hits.Concepts.Select((concept, c) => Values(concept.NameInCaption!, baseline?.Concepts[c].NameInCaption, conceptImages[c])).ToList();

    /// <summary>95 % interval of the mean over concepts of name-prompt top-1 on the given images.</summary>
    public Interval NameTop1Interval(IReadOnlyList<int[]> conceptImages, int seed = 0) =>
        Bootstrap.MacroMean(Groups(this, null, conceptImages), seed: seed);

    /// <summary>95 % interval of the reference top-1 on the given images.</summary>
    public Interval ReferenceInterval(int[] referenceImages, int seed = 0) =>
        Bootstrap.MacroMean([Values(Reference, null, referenceImages)], seed: seed);

    /// <summary>95 % interval of the paired gain in mean name-prompt top-1 of <paramref name="after"/> over
    /// <paramref name="before"/> on the same images.</summary>
    public static Interval GainInterval(KnowledgeHits before, KnowledgeHits after, IReadOnlyList<int[]> conceptImages, int seed = 0) =>
        Bootstrap.MacroMean(Groups(after, before, conceptImages), seed: seed);

    /// <summary>95 % interval of the paired reference top-1 lost from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static Interval ForgettingInterval(KnowledgeHits before, KnowledgeHits after, int[] referenceImages, int seed = 0) =>
        Bootstrap.MacroMean([Values(before.Reference, after.Reference, referenceImages)], seed: seed);

    private static IReadOnlyList<IReadOnlyList<double>> Groups(KnowledgeHits hits, KnowledgeHits? baseline, IReadOnlyList<int[]> conceptImages) =>
        hits.Concepts.Select((concept, c) => Values(concept.ByName, baseline?.Concepts[c].ByName, conceptImages[c])).ToList();

    /// <summary>Per image 1 or 0 for a hit, or with a baseline the paired difference.</summary>
    private static IReadOnlyList<double> Values(bool[] hits, bool[]? baseline, int[] images) =>
        images.Select(i => (hits[i] ? 1.0 : 0.0) - (baseline is null ? 0 : baseline[i] ? 1 : 0)).ToList();

    private static double Fraction(bool[] hits, int[] images) => images.Length == 0 ? 0 : images.Count(i => hits[i]) / (double)images.Length;
}
