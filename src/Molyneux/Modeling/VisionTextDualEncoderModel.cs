using Molyneux.Asif;
using Molyneux.Onnx;
using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Modeling;

/// <summary>Hugging Face's <c>VisionTextDualEncoderModel</c> (the LiT / any-tower CLIP): a pretrained image tower and
/// a pretrained text tower joined by two bias-free projections into a shared space, and a learnt temperature. The
/// towers here are a <see cref="ResNetModel"/> (pooled features) and a <see cref="BertModel"/> mean-pooled over the
/// real tokens, as a sentence encoder is; the module names are HF's, so the state dict maps by name
/// (<see cref="Checkpoints.DualEncoderCheckpoint"/>).</summary>
public sealed class VisionTextDualEncoderModel : Module<Tensor, Tensor, Tensor>
{
    public readonly ResNetModel vision_model;
    public readonly BertModel text_model;
    public readonly Linear visual_projection;
    public readonly Linear text_projection;
    public readonly Parameter logit_scale;

    public VisionTextDualEncoderModel(DualEncoderConfig config) : this(config, new ResNetModel(config.Vision), new BertModel(config.Text))
    {
    }

    /// <summary>A dual encoder around existing towers (pretrained ones), with fresh projections.</summary>
    public VisionTextDualEncoderModel(DualEncoderConfig config, ResNetModel visionModel, BertModel textModel) : base(nameof(VisionTextDualEncoderModel))
    {
        config.Validate("dual encoder config");
        Config = config;
        vision_model = visionModel;
        text_model = textModel;
        visual_projection = Linear(config.Vision.FeatureWidth, config.ProjectionDim, hasBias: false);
        text_projection = Linear(config.Text.HiddenSize, config.ProjectionDim, hasBias: false);
        logit_scale = Parameter(tensor((float)config.LogitScaleInitValue));
        RegisterComponents();
    }

    public DualEncoderConfig Config { get; private set; }

    /// <summary>Records that the tower now takes images of <paramref name="imageSize"/> px (a ResNet takes any size
    /// its pooling averages over; the image processor decides the size).</summary>
    internal void SetImageSize(int imageSize)
    {
        var resized = Config with { ImageSize = imageSize };
        resized.Validate("dual encoder config");
        Config = resized;
    }

    /// <summary>Unnormalised image features [batch, projection_dim] of preprocessed pixels.</summary>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.forward(pixelValues)).MoveToOuterDisposeScope();
    }

    /// <summary>Unnormalised text features [batch, projection_dim] of int64 ids padded with the pad id.</summary>
    public Tensor GetTextFeatures(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var mask = inputIds.EqualTo(Config.Text.PadTokenId).logical_not();
        return text_projection.forward(text_model.MeanPool(inputIds, mask)).MoveToOuterDisposeScope();
    }

    /// <summary>Scaled cosine similarities [images, texts], as HF's logits_per_image.</summary>
    public override Tensor forward(Tensor pixelValues, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return ClipModel.ScaledCosine(GetImageFeatures(pixelValues), GetTextFeatures(inputIds), logit_scale).MoveToOuterDisposeScope();
    }
}
