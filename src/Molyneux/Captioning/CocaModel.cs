using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

/// <summary>CoCa (Yu et al. 2022) as open_clip builds it: the fields carry open_clip's module names (snake_case on
/// purpose), so an open_clip state dict maps onto this model one to one. A new model's own tensors are zero (its
/// linear and LayerNorm layers have TorchSharp's initialisation): its weights come from a checkpoint.</summary>
public sealed class CocaModel : Module<Tensor, Tensor, Tensor>
{
    public readonly CocaVisionTower visual;
    public readonly CocaTextTower text;
    public readonly CocaTextDecoder text_decoder;
    public readonly Parameter logit_scale;

    /// <summary>open_clip's CoCa training defaults (CoCaTask, --coca-*-loss-weight).</summary>
    public const double DefaultCaptionLossWeight = 2.0, DefaultContrastiveLossWeight = 1.0;

    public CocaModel(CocaConfig config) : base(nameof(CocaModel))
    {
        config.Validate("model config");
        Config = config;
        visual = new CocaVisionTower(config);
        text = new CocaTextTower(config);
        text_decoder = new CocaTextDecoder(config);
        logit_scale = Parameter(tensor((float)Math.Log(1 / 0.07)));
        RegisterComponents();
    }

    public CocaConfig Config { get; }

    public Device Device => logit_scale.device;

    /// <summary>Unnormalized image features [batch, embed_dim] (open_clip's <c>encode_image(…, normalize=False)</c>).</summary>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual.forward(pixelValues).Features.MoveToOuterDisposeScope();
    }

    /// <summary>Unnormalized text features [batch, embed_dim] (open_clip's <c>encode_text(…, normalize=False)</c>).</summary>
    public Tensor GetTextFeatures(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text.forward(inputIds).Features.MoveToOuterDisposeScope();
    }

    /// <summary>The image tokens the decoder attends to [batch, queries − 1, embed_dim].</summary>
    public Tensor GetImageTokens(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual.forward(pixelValues).ImageTokens.MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's vocabulary logits under teacher forcing [batch, length, vocab]: position t predicts
    /// id t + 1 of each text from ids 0..t and its image.</summary>
    public override Tensor forward(Tensor pixelValues, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return CaptionLogits(GetImageTokens(pixelValues), inputIds).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's logits [batch, length, vocab] for texts whose images' tokens are already computed.</summary>
    public Tensor CaptionLogits(Tensor imageTokens, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text_decoder.forward(imageTokens, text.forward(inputIds).TokenStates).MoveToOuterDisposeScope();
    }

    /// <summary>exp(logit_scale) × normalized image features · normalized text featuresᵀ: [images, texts].</summary>
    public Tensor ContrastiveLogits(Tensor imageFeatures, Tensor textFeatures) => ClipModel.ScaledCosine(imageFeatures, textFeatures, logit_scale);

    /// <summary>The captioning loss: cross-entropy of logits t against id t + 1, averaged over every label of the
    /// batch together that is not the pad id (open_clip's <c>CrossEntropyLoss(ignore_index=pad_id)</c>, no label
    /// smoothing). The pad id is also BPE's "!", which is ignored too, as in open_clip.</summary>
    /// <param name="logits">[batch, length, vocab] teacher-forced logits of <paramref name="inputIds"/></param>
    /// <param name="inputIds">[batch, length]</param>
    public Tensor CaptionLoss(Tensor logits, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var vocab = logits.shape[2];
        var labels = inputIds[.., 1..];
        var predictions = logits[.., ..^1].reshape(-1, vocab).to(ScalarType.Float32);
        return functional.cross_entropy(predictions, labels.reshape(-1), ignore_index: Config.Text.PadId).MoveToOuterDisposeScope();
    }

    /// <summary>CoCa's two training losses, unweighted, for captions paired with images: the captioning loss and
    /// CLIP's symmetric contrastive loss over the batch of pairs.</summary>
    /// <param name="pixelValues">[images, 3, size, size]</param>
    /// <param name="inputIds">[batch, length]: caption k describes image <paramref name="imageOfCaption"/>[k]</param>
    /// <param name="imageOfCaption">int64 [batch]; null: caption k describes image k</param>
    public (Tensor Caption, Tensor Contrastive) Losses(Tensor pixelValues, Tensor inputIds, Tensor? imageOfCaption = null)
    {
        using var scope = NewDisposeScope();
        var (imageFeatures, imageTokens) = visual.forward(pixelValues);
        if (imageOfCaption is not null)
            (imageFeatures, imageTokens) = (imageFeatures.index_select(0, imageOfCaption), imageTokens.index_select(0, imageOfCaption));
        var (textFeatures, tokenStates) = text.forward(inputIds);
        var caption = CaptionLoss(text_decoder.forward(imageTokens, tokenStates), inputIds);
        var contrastive = ContrastiveLoss.Compute(imageFeatures, textFeatures, logit_scale);
        return (caption.MoveToOuterDisposeScope(), contrastive.MoveToOuterDisposeScope());
    }

    /// <summary>The weighted sum open_clip trains with: caption weight × captioning loss + contrastive weight ×
    /// contrastive loss.</summary>
    public Tensor TotalLoss(Tensor pixelValues, Tensor inputIds, Tensor? imageOfCaption = null,
        double captionWeight = DefaultCaptionLossWeight, double contrastiveWeight = DefaultContrastiveLossWeight)
    {
        using var scope = NewDisposeScope();
        var (caption, contrastive) = Losses(pixelValues, inputIds, imageOfCaption);
        return caption.Times(captionWeight).Plus(contrastive.Times(contrastiveWeight)).MoveToOuterDisposeScope();
    }
}
