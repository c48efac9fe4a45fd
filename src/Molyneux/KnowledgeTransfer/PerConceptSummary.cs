namespace Molyneux.KnowledgeTransfer;

/// <summary>One concept taught alone (<see cref="ConceptLearner.LearnEach(Func{Modeling.IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?)"/>): its own run's choice and figures on
/// its test images, and the reference top-1 of that run.</summary>
public sealed record TaughtAlone(string Name, TrialConfiguration Chosen, bool WithinBound, ConceptAccuracy Before, ConceptAccuracy After,
    ConceptAccuracy? NoiseControl, double ReferenceBefore, double ReferenceAfter, ConceptHits AfterHits, ConceptHits? NoiseHits)
{
    public static TaughtAlone Of(LearnResult result)
    {
        var c = result.Taught is [var only] ? only : throw new ArgumentException($"a run that taught {result.Taught.Count} concepts is not one concept taught alone", nameof(result));
        var noise = result.NoiseGrid?.Chosen;
        return new TaughtAlone(result.Before.Concepts[c].Name, result.Chosen.Configuration, result.Chosen.WithinBound, result.Before.Concepts[c],
            result.Chosen.After.Concepts[c], noise?.After.Concepts[c], result.Before.ReferenceTop1, result.Chosen.After.ReferenceTop1,
            result.Chosen.Hits.Concepts[c], noise?.Hits.Concepts[c]);
    }
}

/// <summary>Every concept taught alone, as the paper's Table 1: each concept's name-prompt top-1 after its own run,
/// the mean over concepts with a paired bootstrap interval of its gain (over the test images, which are the same in
/// every run: the split depends on the concepts and the seed only), and what each run cost the reference.</summary>
/// <param name="BeforeHits">The base model's outcomes, the same in every run.</param>
/// <param name="Concepts">Each concept's own run, in the order of the concepts.</param>
/// <param name="TestImages">Per concept, the indices of its test images: the same in every run.</param>
public sealed record PerConceptSummary(IReadOnlyList<TaughtAlone> Concepts, KnowledgeHits BeforeHits, IReadOnlyList<int[]> TestImages)
{
    public Estimate Gain => GainOf(Concepts.Select(c => c.AfterHits).ToList());

    /// <summary>The noise control's gain, when every run had one.</summary>
    public Estimate? NoiseControlGain => Concepts.All(c => c.NoiseHits is not null) ? GainOf(Concepts.Select(c => c.NoiseHits!).ToList()) : null;

    /// <summary>Reference top-1 lost, averaged over the runs.</summary>
    public double MeanForgetting => Concepts.Average(c => c.ReferenceBefore - c.ReferenceAfter);

    public double MostForgetting => Concepts.Max(c => c.ReferenceBefore - c.ReferenceAfter);

    private Estimate GainOf(IReadOnlyList<ConceptHits> after)
    {
        var taught = new KnowledgeHits(after, []);
        return Estimate.Of(taught.On(TestImages, []).MeanNameTop1 - BeforeHits.On(TestImages, []).MeanNameTop1,
            KnowledgeHits.GainInterval(BeforeHits, taught, TestImages));
    }

    /// <summary>The per-concept table as Markdown (summary.md of a <c>--per-concept</c> report folder).</summary>
    public string Markdown()
    {
        static string Percent(double value) => $"{100 * value:F1} %";
        var noise = Concepts.All(c => c.NoiseControl is not null);
        var rows = new List<string>
        {
            $"| concept (taught alone) | name top-1 before | after | chosen | {(noise ? "noise control | " : "")}reference top-1 before → after |",
            $"|---|---:|---:|---|{(noise ? "---:|" : "")}---:|",
        };
        rows.AddRange(Concepts.Select(c => $"| {c.Name} | {Percent(c.Before.NameTop1)} | {Percent(c.After.NameTop1)} | `{c.Chosen}`{(c.WithinBound ? "" : " (outside the bound)")} | " +
                                           (noise ? $"{Percent(c.NoiseControl!.NameTop1)} | " : "") + $"{Percent(c.ReferenceBefore)} → {Percent(c.ReferenceAfter)} |"));
        rows.Add($"| mean | {Percent(Concepts.Average(c => c.Before.NameTop1))} | {Percent(Concepts.Average(c => c.After.NameTop1))} | | " +
                 (noise ? $"{Percent(Concepts.Average(c => c.NoiseControl!.NameTop1))} | " : "") + $"{100 * MeanForgetting:F1} points lost (at most {100 * MostForgetting:F1}) |");
        rows.Add("");
        rows.Add($"Name top-1 gain {Gain.Points(signed: true)}" + (NoiseControlGain is { } noiseGain ? $", noise control {noiseGain.Points(signed: true)}" : "") +
                 "; each concept taught from the base model in a run of its own; 95 % bootstrap intervals over the test images.");
        return string.Join("\n", rows) + "\n";
    }
}
