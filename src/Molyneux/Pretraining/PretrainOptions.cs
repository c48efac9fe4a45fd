using Molyneux.Captioning;

namespace Molyneux.Pretraining;

/// <summary>What <c>molyneux pretrain</c> trains: a CLIP (contrastive loss alone) or a CoCa (contrastive plus
/// captioning loss, open_clip's weights).</summary>
public enum PretrainObjective { Clip, Coca }

/// <summary>The recipe of <see cref="ClipPretrainer"/>: contrastive CLIP training from scratch with AdamW, linear
/// warm-up then cosine decay, no weight decay on norms, biases, embeddings and the temperature, a learnable
/// temperature capped at 100, gradient clipping and light affine augmentation.</summary>
public sealed record PretrainOptions
{
    /// <summary>A model preset (Modeling/Presets): molyneux-micro (shapes tests), molyneux-tiny, molyneux-small; or a
    /// config.json file (HF or open_clip layout) for another shape.</summary>
    public string Preset { get; init; } = "molyneux-tiny";

    /// <summary>Optimizer steps. Exactly reproducible for a seed; <see cref="Minutes"/> is not, since it turns a time
    /// budget into steps from the speed of the first steps.</summary>
    public int? Steps { get; init; }

    /// <summary>Clip (<see cref="ClipPretrainer"/>) or Coca (<see cref="CocaPretrainer"/>, whose <see cref="Preset"/> is a
    /// CoCa preset, <see cref="CocaPresets.Names"/>, or an open_clip CoCa config file).</summary>
    public PretrainObjective Objective { get; init; } = PretrainObjective.Clip;

    public double? Minutes { get; init; }

    public int BatchSize { get; init; } = 256;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.1;

    /// <summary>Fraction of the steps spent warming the learning rate up linearly from 0.</summary>
    public double WarmupFraction { get; init; } = 0.05;

    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>exp(logit_scale) never exceeds this (CLIP's cap).</summary>
    public double MaxLogitScale { get; init; } = 100;

    public int Seed { get; init; }

    /// <summary>Size of the byte-level BPE vocabulary trained on the captions (specials included).</summary>
    public int VocabularySize { get; init; } = 4096;

    /// <summary>Token positions of the text tower; captions longer than this are truncated CLIP's way.</summary>
    public int ContextLength { get; init; } = 32;

    /// <summary>Evaluate the probes this many times over the run (plus at the end).</summary>
    public int EvaluationPoints { get; init; } = 10;

    /// <summary>Save resumable state at most this often.</summary>
    public double CheckpointMinutes { get; init; } = 3;

    public void Validate()
    {
        if (Steps is null == Minutes is null) throw new OptionException("give exactly one of --steps and --minutes");
        if (Steps is <= 0) throw new OptionException($"--steps: must be positive, got {Steps}");
        if (Minutes is { } minutes && !(minutes > 0)) throw new OptionException($"--minutes: must be positive, got {minutes}");
        if (BatchSize < 2) throw new OptionException($"--batch-size: must be at least 2 (contrastive learning needs negatives), got {BatchSize}");
        if (!(LearningRate > 0)) throw new OptionException($"--lr: must be positive, got {LearningRate}");
        if (WeightDecay < 0) throw new OptionException($"--weight-decay: must not be negative, got {WeightDecay}");
        if (VocabularySize < 520) throw new OptionException($"--vocab-size: must be at least 520 (256 bytes twice, specials, a few merges), got {VocabularySize}");
        if (Objective == PretrainObjective.Coca && CocaPresets.Find(Preset) is null && !Preset.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            throw new OptionException($"--preset: the coca objective takes a CoCa preset ({string.Join(", ", CocaPresets.Names)}) or an open_clip CoCa config .json, got '{Preset}'");
        if (ContextLength < 4) throw new OptionException($"--context-length: must be at least 4, got {ContextLength}");
    }
}
