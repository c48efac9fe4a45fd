using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Settings of <see cref="LinearProbe"/>; each maps to one option of <c>molyneux eval linear-probe</c>. The
/// defaults follow CLIP_benchmark's linear probe (L2-normalised features, learning rate 0.1 with a cosine decay,
/// weight decay searched over 97 log-spaced values from 1e-6 to 100) with full-batch steps in place of its
/// mini-batch epochs: the whole training set fits one matrix product, and full batches make the fit deterministic.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>The model's location, recorded in the report only.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Share of each class's training images held out to choose the weight decay (<c>--val-fraction</c>),
    /// in (0, 1). Each class keeps at least one training image.</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Seeds the validation split (<c>--seed</c>); the optimisation itself starts from zero weights and uses
    /// no randomness.</summary>
    public int Seed { get; init; }

    /// <summary>Full-batch Adam steps per fit (<c>--steps</c>).</summary>
    public int Steps { get; init; } = 500;

    /// <summary>Adam's peak learning rate, decayed to zero along a cosine over the steps (<c>--lr</c>).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>The L2 weights to search, in increasing order (<c>--weight-decays</c>); default
    /// <see cref="LinearProbe.DefaultWeightDecays"/>.</summary>
    public IReadOnlyList<double> WeightDecays { get; init; } = LinearProbe.DefaultWeightDecays;

    /// <summary>Divide each feature vector by its L2 norm first, as CLIP_benchmark does by default.</summary>
    public bool NormalizeFeatures { get; init; } = true;

    /// <summary>Images per encoder call.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Where image embeddings are cached; null encodes everything every time.</summary>
    public EmbeddingCache? Cache { get; init; } = new(EmbeddingCache.DefaultFolder);

    /// <summary>Where the regression runs; null: the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>How many most-confused pairs the report keeps.</summary>
    public int MostConfusedLimit { get; init; } = 20;

    /// <exception cref="OptionException">A setting is out of range; the message names its CLI option.</exception>
    public void Validate()
    {
        if (!(ValidationFraction > 0 && ValidationFraction < 1))
            throw new OptionException($"--val-fraction: must be between 0 and 1 (exclusive), got {ValidationFraction}");
        if (Steps < 1) throw new OptionException($"--steps: must be at least 1, got {Steps}");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new OptionException($"--lr: must be a positive number, got {LearningRate}");
        if (WeightDecays.Count == 0) throw new OptionException("--weight-decays: at least one value");
        if (WeightDecays.Any(value => !(value >= 0) || !double.IsFinite(value)))
            throw new OptionException($"--weight-decays: every value must be finite and at least 0, got {string.Join(", ", WeightDecays)}");
        if (WeightDecays.Zip(WeightDecays.Skip(1)).Any(pair => pair.First >= pair.Second))
            throw new OptionException($"--weight-decays: must increase strictly (the search walks the list as a scale), got {string.Join(", ", WeightDecays)}");
        if (BatchSize < 1) throw new OptionException($"--batch-size: must be at least 1, got {BatchSize}");
    }
}
