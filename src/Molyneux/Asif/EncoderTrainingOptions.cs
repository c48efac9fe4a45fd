namespace Molyneux.Asif;

/// <summary>The recipe of Molyneux's own unimodal encoders (the emoji world's <c>EmojiImageEncoderTrainer</c> and
/// <c>EmojiTextEncoderTrainer</c> in Molyneux.Worlds): AdamW, linear warm-up then cosine decay, a time budget or a step count.</summary>
public sealed record EncoderTrainingOptions
{
    /// <summary>Time budget per encoder: training runs until it is spent, its schedule following the time.</summary>
    public double? Minutes { get; init; } = 5;

    /// <summary>Exact step count (reproducible for a seed); overrides <see cref="Minutes"/>.</summary>
    public int? Steps { get; init; }

    public int BatchSize { get; init; } = 128;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Temperature of the contrastive terms (InfoNCE between two views of one image or one concept's text).</summary>
    public double Temperature { get; init; } = 0.1;

    public int Seed { get; init; }

    public void Validate()
    {
        if (Steps is null && Minutes is null) throw new OptionException("give --minutes or --steps");
        if (Steps is <= 0) throw new OptionException($"--steps: must be positive, got {Steps}");
        if (Steps is null && !(Minutes > 0)) throw new OptionException($"--minutes: must be positive, got {Minutes}");
        if (BatchSize < 2) throw new OptionException($"--batch-size: must be at least 2 (contrastive learning needs negatives), got {BatchSize}");
        if (!(LearningRate > 0)) throw new OptionException($"--lr: must be positive, got {LearningRate}");
        if (!(Temperature > 0)) throw new OptionException($"temperature: must be positive, got {Temperature}");
    }
}

/// <summary>Where a training run is: <paramref name="Encoder"/> is "image" or "text"; <paramref name="Done"/> the
/// fraction of the steps or of the time budget spent.</summary>
public readonly record struct EncoderTrainingProgress(string Encoder, int Step, double Done, double Loss, double Minutes);
