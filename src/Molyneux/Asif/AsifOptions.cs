using Molyneux.Evaluation;

namespace Molyneux.Asif;

/// <summary>ASIF's query-time settings (Norelli et al. 2023, §3): a relative representation keeps the
/// <see cref="NonZeros"/> largest similarities to the anchors, raised to <see cref="Exponent"/> and L2-normalized.
/// Defaults are the paper's (k = 800, p = 8) and its code's (negatives kept, max over templates).</summary>
public sealed record AsifOptions
{
    /// <summary>k: similarities kept per representation (the rest are zero); clamped to the number of anchors.</summary>
    public int NonZeros { get; init; } = 800;

    /// <summary>p: the kept similarities are raised to this power, so the closest anchors dominate.</summary>
    public double Exponent { get; init; } = 8;

    /// <summary>Sets negative similarities to zero before the exponent. ASIF's code does not: an even p then turns a
    /// strongly dissimilar anchor into a strong vote, which matters only when k reaches into negative similarities.</summary>
    public bool ClampNegatives { get; init; }

    /// <summary>How a class's prompts combine: the best prompt's score (ASIF's code) or the mean of the prompts' scores.</summary>
    public TemplateEnsemble Ensemble { get; init; } = TemplateEnsemble.Max;

    /// <summary>Anchors per chunk when similarities to them are computed: bounds memory to queries × this many
    /// floats, and lets an anchor matrix on disk be read a chunk at a time.</summary>
    public int ChunkRows { get; init; } = 65_536;

    public void Validate()
    {
        if (NonZeros < 1) throw new OptionException($"-k: must be at least 1, got {NonZeros}");
        if (!(Exponent > 0) || !double.IsFinite(Exponent)) throw new OptionException($"-p: must be a positive number, got {Exponent}");
        // A fractional power of a negative number is not real.
        if (!ClampNegatives && Exponent != Math.Floor(Exponent))
            throw new OptionException($"-p: {Exponent} is not an integer; fractional exponents need --clamp-negatives");
        if (ChunkRows < 1) throw new OptionException($"chunk rows: must be at least 1, got {ChunkRows}");
    }
}
