namespace Molyneux.KnowledgeTransfer;

/// <summary>Which real images may choose among fine-tuning configurations (validation) and which only report the
/// chosen one (test): each concept's images and the reference set's images are split apart, seeded. Nothing that
/// chooses reads a test image, so the reported accuracies are not inflated by the choice.</summary>
/// <param name="ConceptValidation">Per concept, the indices of its validation images (ascending).</param>
/// <param name="ConceptTest">Per concept, the indices of its test images (ascending).</param>
/// <param name="ReferenceValidation">The indices of the reference images that may choose (ascending).</param>
/// <param name="ReferenceTest">The indices of the reference images that only report (ascending).</param>
public sealed record RealImageSplit(IReadOnlyList<int[]> ConceptValidation, IReadOnlyList<int[]> ConceptTest, int[] ReferenceValidation, int[] ReferenceTest)
{
    public const double DefaultValidationFraction = 0.4;

    /// <summary>Splits each concept's images and the reference images: a <paramref name="validationFraction"/> of
    /// each (rounded, at least one and at least one left for test) to validation. A concept with fewer than two
    /// images cannot be split and is refused by name.</summary>
    public static RealImageSplit Create(IReadOnlyList<(string Name, int Images)> concepts, int referenceImages, double validationFraction, int seed)
    {
        if (validationFraction is <= 0 or >= 1)
            throw new OptionException($"--validation-fraction: must be between 0 and 1 (exclusive), got {validationFraction}");
        var random = new Random(seed + 401);
        var validation = new List<int[]>();
        var test = new List<int[]>();
        foreach (var (name, count) in concepts)
        {
            if (count < 2)
                throw new DatasetException($"concept '{name}': {count} real image(s) cannot be split into validation and test " +
                                           "(give it at least two, or choose with --select inverted, which needs no real image)");
            var (v, t) = Split(count, validationFraction, random);
            validation.Add(v);
            test.Add(t);
        }
        if (referenceImages < 2) throw new DatasetException($"the reference set has {referenceImages} image(s); splitting it needs at least two");
        var (referenceValidation, referenceTest) = Split(referenceImages, validationFraction, random);
        return new RealImageSplit(validation, test, referenceValidation, referenceTest);
    }

    /// <summary>No validation part: every image is a test image (<c>--select none</c> and <c>--select inverted</c>
    /// choose without real images of the concepts). The reference stays split, as the forgetting bound reads it.</summary>
    public static RealImageSplit TestOnly(IReadOnlyList<int> conceptImages, int referenceImages, double validationFraction, int seed, bool splitReference)
    {
        var all = conceptImages.Select(count => Enumerable.Range(0, count).ToArray()).ToList();
        if (!splitReference) return new RealImageSplit(all.Select(_ => Array.Empty<int>()).ToList(), all, [], Enumerable.Range(0, referenceImages).ToArray());
        var reference = Create([], referenceImages, validationFraction, seed);
        return new RealImageSplit(all.Select(_ => Array.Empty<int>()).ToList(), all, reference.ReferenceValidation, reference.ReferenceTest);
    }

    private static (int[] Validation, int[] Test) Split(int count, double validationFraction, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        var validationCount = Math.Clamp((int)Math.Round(count * validationFraction, MidpointRounding.AwayFromZero), 1, count - 1);
        return (order[..validationCount].Order().ToArray(), order[validationCount..].Order().ToArray());
    }
}
