using Molyneux.Runtime;

namespace Molyneux.Alignment;

/// <summary>Which parts of a dual encoder alignment trains. LiT (Zhai et al. 2022) locks the image tower and trains the
/// text side; APE and Molyneux's emoji recipe lock the text tower (MiniLM already knows language) and fit the image side.</summary>
[Flags]
public enum AlignedParts
{
    Projections = 1,
    ImageTower = 2,
    TextTower = 4,

    /// <summary>The image projection (and the temperature) alone: the text projection stays as it is (for fresh
    /// built-in towers an isometry of MiniLM's space), so the text side is the text tower's own space up to a rotation,
    /// as LiT's locked side is; a name or description alignment never saw keeps its place among the ones it saw.</summary>
    ImageProjection = 8,
}

/// <summary>The recipe of <see cref="Aligner"/>: contrastive training (CLIP's symmetric InfoNCE at the learnt
/// temperature) of chosen parts of a pretrained dual encoder on image–caption pairs, AdamW with a learning rate per
/// group (an unlocked pretrained tower learns slower than fresh projections), linear warm-up then cosine decay. The
/// defaults are the default model's recipe (docs/default-models.md): the projections alone, 2 000 steps of 512 pairs, eight
/// views of each image.</summary>
public sealed record AlignOptions
{
    public AlignedParts Train { get; init; } = AlignedParts.Projections;

    /// <summary>How many of the image tower's last stages train when it trains (a ResNet's stages, a ViT's layers; at
    /// least 1, at most the tower's): the stages below are computed once per image, which on a CPU is what makes
    /// unlocking affordable.</summary>
    public int UnlockedImageStages { get; init; } = 1;

    public double ProjectionLearningRate { get; init; } = 1e-3;

    public double TowerLearningRate { get; init; } = 1e-4;

    public double WeightDecay { get; init; } = 0.05;

    public int BatchSize { get; init; } = 512;

    public int Steps { get; init; } = 2000;

    /// <summary>A time budget for the whole run, set-up included (<c>--minutes</c>): once the set-up is done, the steps
    /// that fit in the time left are worked out from the speed of timed steps, a fifth kept for the probes, and replace
    /// <see cref="Steps"/>. null: <see cref="Steps"/> decides, which repeats exactly for a seed.</summary>
    public double? Minutes { get; init; }

    public int WarmupSteps { get; init; } = 50;

    /// <summary>Captions drawn per image before training (the data's random captions, seeded); epoch e uses draw e mod
    /// this. A frozen text tower encodes each distinct caption once.</summary>
    public int CaptionDraws { get; init; } = 4;

    /// <summary>Views of each training image encoded before training: the image itself, then warped copies (the data's
    /// augmentation, seeded); epoch e trains on view e mod this. What the locked stages compute is computed once per
    /// view, so augmentation costs encoding time, not time per step.</summary>
    public int ImageViews { get; init; } = 8;

    /// <summary>Evaluate the data's zero-shot probes every this many steps (and at the end); 0: only at the end.</summary>
    public int ProbeEvery { get; init; } = 250;

    public int Seed { get; init; }

    /// <summary>Whether both towers stay as pretrained, so that the projections alone rebuild the aligned model (a
    /// method, so that records and saved states do not carry it).</summary>
    public bool TrainsProjectionsOnly() => Train is AlignedParts.Projections or AlignedParts.ImageProjection;

    /// <summary>The "--train" spellings: projections, image-projection, image, text, image+projections, all.</summary>
    public static AlignedParts ParseTrain(string value) => value switch
    {
        "projections" => AlignedParts.Projections,
        "image-projection" => AlignedParts.ImageProjection,
        "image" => AlignedParts.ImageTower,
        "text" => AlignedParts.TextTower,
        "image+projections" => AlignedParts.ImageTower | AlignedParts.Projections,
        "all" => AlignedParts.ImageTower | AlignedParts.TextTower | AlignedParts.Projections,
        _ => throw new OptionException($"--train: expected projections, image-projection, image, text, image+projections or all, got '{value}'"),
    };

    public void Validate()
    {
        static void Require(bool condition, string problem)
        {
            if (!condition) throw new OptionException($"align: {problem}");
        }
        Require(Train != 0, "nothing to train");
        Require(UnlockedImageStages >= 1, $"unlocked image stages must be at least 1, got {UnlockedImageStages}");
        Require(double.IsFinite(ProjectionLearningRate) && ProjectionLearningRate > 0, $"projection learning rate must be positive, got {ProjectionLearningRate}");
        Require(double.IsFinite(TowerLearningRate) && TowerLearningRate > 0, $"tower learning rate must be positive, got {TowerLearningRate}");
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, $"weight decay must be ≥ 0, got {WeightDecay}");
        Require(BatchSize >= 2, $"batch size must be at least 2 (the loss contrasts pairs), got {BatchSize}");
        Require(Steps > 0, $"steps must be positive, got {Steps}");
        Require(Minutes is null || (double.IsFinite(Minutes.Value) && Minutes > 0), $"--minutes must be positive, got {Minutes}");
        Require(WarmupSteps >= 0, $"warm-up steps must be ≥ 0, got {WarmupSteps}");
        Require(CaptionDraws > 0, $"caption draws must be positive, got {CaptionDraws}");
        Require(ImageViews > 0, $"image views must be positive, got {ImageViews}");
        Require(ProbeEvery >= 0, $"probe interval must be ≥ 0, got {ProbeEvery}");
    }
}
