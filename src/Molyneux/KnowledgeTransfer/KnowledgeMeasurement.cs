using Molyneux.Evaluation;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Zero-shot top-1 on a concept's real images: prompted by its name among the concepts and a few
/// reference distractors, by its description (classification by description) among the same, and by its name
/// among the concepts and every reference class.</summary>
public sealed record ConceptAccuracy(string Name, double NameTop1, double DescriptionTop1, double NameTop1AllClasses);

/// <summary>Accuracies of one model on a part of the images (validation, test, or held-out inverted images).</summary>
public sealed record KnowledgeMeasurement(IReadOnlyList<ConceptAccuracy> Concepts, double ReferenceTop1)
{
    public double MeanNameTop1 => Concepts.Average(c => c.NameTop1);
}

/// <summary>Whether the model's top-1 was right on each of a concept's images, under each kind of prompt.</summary>
public sealed record ConceptHits(string Name, bool[] ByName, bool[] ByDescription, bool[] ByNameAllClasses);

/// <summary>One model's per-image outcomes on every image it was measured on: each concept's and the reference
/// set's. Accuracies on any part of the images (<see cref="On"/>) and bootstrap intervals
/// (<see cref="NameTop1Interval"/>, <see cref="GainInterval"/>) are read off them, so one measurement serves the
/// choice (validation) and the report (test) without a second pass.</summary>
public sealed record KnowledgeHits(IReadOnlyList<ConceptHits> Concepts, bool[] Reference)
{
    /// <summary>Accuracies on the given images of each concept and of the reference set.</summary>
    public KnowledgeMeasurement On(IReadOnlyList<int[]> conceptImages, int[] referenceImages) =>
        new(Concepts.Select((concept, c) => new ConceptAccuracy(concept.Name, Fraction(concept.ByName, conceptImages[c]),
                Fraction(concept.ByDescription, conceptImages[c]), Fraction(concept.ByNameAllClasses, conceptImages[c]))).ToList(),
            Fraction(Reference, referenceImages));

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
