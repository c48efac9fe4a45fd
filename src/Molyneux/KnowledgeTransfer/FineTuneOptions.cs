using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;

namespace Molyneux.KnowledgeTransfer;

/// <summary>What fine-tuning trains (<c>--train image|text|both|token</c>).</summary>
public enum TrainMode
{
    /// <summary>The image tower (vision_model and visual_projection); the text tower stays frozen. The paper's choice:
    /// the concept's description is already understood by the text encoder, the image encoder learns to match it.</summary>
    Image,

    /// <summary>The text tower (text_model and text_projection); the image tower stays frozen.</summary>
    Text,

    /// <summary>Both towers.</summary>
    Both,

    /// <summary>One new token-embedding row for the concept's name and nothing else (textual inversion); see
    /// <see cref="ConceptToken"/>. No other prompt's features can change. A single row moves little at the default
    /// learning rate: textual inversion usually takes one around 1e-3.</summary>
    Token,

    /// <summary>A captioner's image tower and its text decoder (<see cref="Modeling.ModelPart.TextDecoder"/>): the
    /// paper's † rows for CoCa.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("image+decoder")]
    ImageAndDecoder,
}

public enum OptimizerKind
{
    /// <summary>Adam with weight decay as an L2 term added to the gradient (torch.optim.Adam's <c>weight_decay</c>):
    /// what the Knowledge Transfer authors' fine-tuning script uses.</summary>
    Adam,

    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter, 2019); written as the option spells it.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("adamw")]
    AdamW,
}

/// <summary>Which way fine-tuning's contrastive loss runs (<c>--loss paper|symmetric</c>).</summary>
public enum FineTuneLoss
{
    /// <summary>Eq. 2 of the paper as written: each image against its caption among all the texts (image→text only).</summary>
    Paper,

    /// <summary>CLIP's pretraining loss: the mean of the image→text and text→image terms.</summary>
    Symmetric,
}

/// <summary>The fine-tuning recipe of <see cref="FineTuner"/>. Defaults are the paper's recipe as the authors' code
/// runs it: the image tower, Eq. 2's image→text loss, Adam with coupled (L2) weight decay 0.2 at learning rate 1e-5
/// (within the paper's sweep of 1e-6 to 1e-4), batches of 4 pairs, one epoch. Adam's β1 = 0.9, β2 = 0.98 and
/// ε = 1e-6 are CLIP's; the learning rate is constant, every trainable parameter is decayed alike, and the
/// temperature (logit_scale) stays frozen in every mode.</summary>
public sealed record FineTuneOptions
{
    public TrainMode Train { get; init; } = TrainMode.Image;

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    public FineTuneLoss Loss { get; init; } = FineTuneLoss.Paper;

    public double LearningRate { get; init; } = 1e-5;

    public double WeightDecay { get; init; } = 0.2;

    /// <summary>λ2 of the paper's Eq. 5–6 for a captioner (<see cref="Modeling.ICaptioningModel"/>): the loss is
    /// λ1·L_CLIP + λ2·L_cap with λ1 = 1, L_cap the captioning loss of each inverted image's caption. The paper's 0.1
    /// by default; a model that writes no captions ignores it.</summary>
    public double CaptionWeight { get; init; } = 0.1;

    /// <summary>Image–caption pairs per step; every step also takes all the negative captions.</summary>
    public int BatchSize { get; init; } = 4;

    public int Epochs { get; init; } = 1;

    /// <summary>Exactly this many steps instead of whole epochs, running through as many reshuffled epochs as needed.</summary>
    public int? Steps { get; init; }

    /// <summary>Seeds the order of the pairs in each epoch and LoRA's initial A.</summary>
    public int Seed { get; init; }

    /// <summary>Rescales the trainable parameters' gradients so their joint L2 norm is at most this; none when null.</summary>
    public double? GradientClipNorm { get; init; }

    /// <summary>W of <see cref="FeatureDistillation"/>: how strongly the trained tower is held to the frozen model's
    /// features (the authors' <c>--kd_weight</c>); 0, the paper's recipe, distils nothing. Token mode has nothing to distil.</summary>
    public double DistillWeight { get; init; }

    /// <summary>Trains LoRA adapters on the image tower instead of its weights (image mode only); they are merged into
    /// the weights at the end.</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>The concept's name, which token mode adds to the vocabulary as one word (it must appear in the captions
    /// to be learned).</summary>
    public string? TokenWord { get; init; }

    /// <summary>With <see cref="StatePath"/>, saves a <see cref="FineTuneState"/> there every this many steps, from
    /// which <see cref="FineTuner.Run"/> can resume. 0: never.</summary>
    public int SaveStateEvery { get; init; }

    public string? StatePath { get; init; }

    public static TrainMode ParseTrainMode(string value) => value switch
    {
        "image" => TrainMode.Image,
        "text" => TrainMode.Text,
        "both" => TrainMode.Both,
        "token" => TrainMode.Token,
        "image+decoder" => TrainMode.ImageAndDecoder,
        _ => throw new OptionException($"--train: '{value}' is not a training mode (expected image, text, both, token or image+decoder)"),
    };

    /// <summary>The mode as <c>--train</c> spells it.</summary>
    public static string TrainModeName(TrainMode mode) => mode == TrainMode.ImageAndDecoder ? "image+decoder" : mode.ToString().ToLowerInvariant();

    public static FineTuneLoss ParseLoss(string value) => value switch
    {
        "paper" => FineTuneLoss.Paper,
        "symmetric" => FineTuneLoss.Symmetric,
        _ => throw new OptionException($"--loss: '{value}' is not a loss (expected paper or symmetric)"),
    };

    public static OptimizerKind ParseOptimizer(string value) => value switch
    {
        "adam" => OptimizerKind.Adam,
        "adamw" => OptimizerKind.AdamW,
        _ => throw new OptionException($"--optimizer: '{value}' is not an optimizer (expected adam or adamw)"),
    };

    public void Validate()
    {
        if (!(LearningRate > 0)) throw new OptionException($"--lr: must be positive, got {LearningRate}");
        if (WeightDecay < 0) throw new OptionException($"--weight-decay: must not be negative, got {WeightDecay}");
        if (BatchSize < 1) throw new OptionException($"--batch-size: must be at least 1, got {BatchSize}");
        if (Epochs < 1) throw new OptionException($"--epochs: must be at least 1, got {Epochs}");
        if (Steps is < 1) throw new OptionException($"--steps: must be at least 1, got {Steps}");
        if (!(CaptionWeight >= 0) || !double.IsFinite(CaptionWeight)) throw new OptionException($"--caption-weight: must be a finite weight of at least 0, got {CaptionWeight}");
        if (!(DistillWeight >= 0) || !double.IsFinite(DistillWeight)) throw new OptionException($"--distill: must be a finite weight of at least 0, got {DistillWeight}");
        if (GradientClipNorm is { } clip && !(clip > 0)) throw new OptionException($"--clip-grad: must be positive, got {clip}");
        if (Lora is not null && Train != TrainMode.Image) throw new OptionException($"--lora: adapts the image tower, so it needs --train image (got {TrainModeName(Train)})");
        Lora?.Validate();
        if (Train == TrainMode.Token && string.IsNullOrWhiteSpace(TokenWord)) throw new OptionException("--train token: needs the concept's name as the new token");
        if (Train != TrainMode.Token && TokenWord is not null) throw new OptionException("a token word is only used with --train token");
        if (SaveStateEvery < 0) throw new OptionException($"--save-every: must not be negative, got {SaveStateEvery}");
        if (SaveStateEvery > 0 && string.IsNullOrEmpty(StatePath)) throw new OptionException("saving the fine-tuning state needs a state path");
    }

    /// <summary>Every setting that shapes the trajectory, and a digest of the data, so a saved state is resumed only
    /// under the same ones.</summary>
    internal string Fingerprint(FineTuneData data)
    {
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        using var scope = torch.NewDisposeScope();
        var pixels = data.Images.to(torch.ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        var texts = string.Join("\n", data.Captions.Concat(["", data.Normalized.ToString(), $"from-layer {data.FromLayer}"]).Concat(data.Negatives)
            .Concat(["", $"replay {data.Replay?.Captions.Count}"]).Concat(data.Replay?.Captions ?? []));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(MemoryMarshal.AsBytes(pixels.AsSpan()));
        hash.AppendData(Encoding.UTF8.GetBytes(texts));
        var digest = Convert.ToHexString(hash.GetHashAndReset());
        return string.Join(";",
            $"train={Train}", $"optimizer={Optimizer}", $"loss={Loss}", $"lr={Number(LearningRate)}", $"wd={Number(WeightDecay)}", $"batch={BatchSize}",
            $"epochs={Epochs}", $"steps={Steps}", $"seed={Seed}", $"clip={(GradientClipNorm is { } clip ? Number(clip) : "none")}",
            $"distill={Number(DistillWeight)}", $"caption={Number(CaptionWeight)}", $"lora={(Lora is { } lora ? $"{lora.Rank}:{Number(lora.Alpha)}" : "none")}", $"token={TokenWord}", $"data={digest[..16]}");
    }
}
