using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Modeling;

/// <summary>Hugging Face's <c>VisionTextDualEncoderModel</c> (the LiT / any-tower CLIP): a pretrained image tower and
/// a pretrained text tower joined by two bias-free projections into a shared space, and a learnt temperature. The
/// towers are any <see cref="IImageTower"/> (a ResNet, a ViT, CLIP's) and any <see cref="ITextTower"/> (a BERT,
/// CLIP's), registered under HF's names, so the state dict maps by name
/// (<see cref="Checkpoints.DualEncoderCheckpoint"/>).</summary>
public sealed class VisionTextDualEncoderModel : Module<Tensor, Tensor, Tensor>
{
    public readonly IImageTower vision_model;
    public readonly ITextTower text_model;
    public readonly Linear visual_projection;
    public readonly Linear text_projection;
    public readonly Parameter logit_scale;

    public VisionTextDualEncoderModel(DualEncoderConfig config) : this(config, config.Vision.CreateTower(), config.Text.CreateTower())
    {
    }

    /// <summary>A dual encoder around existing towers (pretrained ones), with fresh projections.</summary>
    public VisionTextDualEncoderModel(DualEncoderConfig config, IImageTower visionModel, ITextTower textModel) : base(nameof(VisionTextDualEncoderModel))
    {
        config.Validate("dual encoder config");
        if (visionModel.FeatureWidth != config.Vision.FeatureWidth || textModel.FeatureWidth != config.Text.FeatureWidth)
            throw new ArgumentException($"the towers give {visionModel.FeatureWidth} and {textModel.FeatureWidth} features, the config says {config.Vision.FeatureWidth} and {config.Text.FeatureWidth}");
        Config = config;
        vision_model = visionModel;
        text_model = textModel;
        visual_projection = Linear(config.Vision.FeatureWidth, config.ProjectionDim, hasBias: false);
        text_projection = Linear(config.Text.FeatureWidth, config.ProjectionDim, hasBias: false);
        logit_scale = Parameter(tensor((float)config.LogitScaleInitValue));
        // The towers are held by their interfaces, which RegisterComponents does not see.
        register_module(nameof(vision_model), visionModel.Module);
        register_module(nameof(text_model), textModel.Module);
        RegisterComponents();
    }

    public DualEncoderConfig Config { get; private set; }

    /// <summary>Records that the tower now takes images of <paramref name="imageSize"/> px (a ResNet takes any size
    /// its pooling averages over; the image processor decides the size).</summary>
    internal void SetImageSize(int imageSize)
    {
        var resized = Config.WithImageSize(imageSize);
        resized.Validate("dual encoder config");
        Config = resized;
    }

    /// <summary>Unnormalised image features [batch, projection_dim] of preprocessed pixels.</summary>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.Features(pixelValues)).MoveToOuterDisposeScope();
    }

    /// <summary>Unnormalised text features [batch, projection_dim] of int64 ids padded with the pad id.</summary>
    public Tensor GetTextFeatures(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text_projection.forward(text_model.Pool(inputIds)).MoveToOuterDisposeScope();
    }

    /// <summary>Scaled cosine similarities [images, texts], as HF's logits_per_image.</summary>
    public override Tensor forward(Tensor pixelValues, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return ClipModel.ScaledCosine(GetImageFeatures(pixelValues), GetTextFeatures(inputIds), logit_scale).MoveToOuterDisposeScope();
    }
}
