using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>A <see cref="VisionTextDualEncoderModel"/> with the tokenizer of its text tower and the image processor of
/// its image tower: the second kind of <see cref="IVisionLanguageModel"/>. It owns the processor (a ResNet's holds
/// the mean image).</summary>
public sealed class DualEncoderPipeline(VisionTextDualEncoderModel model, ITextTowerTokenizer tokenizer, IImageTowerProcessor imageProcessor,
    ComputeDevice device, CheckpointSource? source = null) : VisionLanguagePipeline(model, device, source), ISplitImageTower
{
    public VisionTextDualEncoderModel Model { get; } = model;

    public ITextTowerTokenizer Tokenizer { get; } = tokenizer;

    public IImageTowerProcessor ImageProcessor { get; private set; } = imageProcessor;

    /// <summary>Makes the model take images of <paramref name="imageSize"/> px, by resizing the ResNet processor's mean
    /// image (bilinear): small images (the 64 px emoji) need not be blown up to 224 px, which costs (224 / size)² more
    /// per image in every forward pass. Changes what the features are, so the identity changes. A transformer tower
    /// takes its own size only.</summary>
    public void ResizeImageInput(int imageSize)
    {
        if (imageSize == ImageSize) return;
        // The config refuses a tower that takes one size only; a ResNet's goes with the ResNet processor.
        Model.SetImageSize(imageSize);
        var resized = ((Onnx.ResNetImageProcessor)ImageProcessor).Resized(imageSize);
        ImageProcessor.Dispose();
        ImageProcessor = resized;
        WeightsChanged();
    }

    public override int EmbeddingSize => Model.Config.ProjectionDim;

    public override int ImageSize => ImageProcessor.ImageSize;

    public override Parameter LogitScale => Model.logit_scale;

    public override IReadOnlyList<(string Name, object Value)> Architecture =>
    [
        ("model type", DualEncoderConfig.ModelType),
        ("image tower", Model.vision_model.Description),
        ("image size", Model.Config.ImageSize),
        ("text tower", Model.text_model.Description),
        ("context length / vocabulary", $"{ContextLength} / {Model.Config.Text.VocabSize}"),
    ];

    /// <summary>The image size is in config.json, not in the weights file, and changes every image feature.</summary>
    protected override string IdentitySalt => $"image_size={ImageSize}";

    public override Tensor Normalize(Tensor pixels) => ImageProcessor.Normalize(pixels);

    public override int ContextLength => Model.Config.Text.ContextLength;

    public override int CountTokens(string text) => Tokenizer.CountTokens(text);

    public override Tensor Tokenize(IReadOnlyList<string> texts) => Tokenizer.Tokenize(texts, ContextLength);

    public override Tensor ImageFeatures(Tensor pixelValues) => Model.GetImageFeatures(pixelValues);

    public override Tensor TextFeatures(Tensor tokenIds) => Model.GetTextFeatures(tokenIds);

    public int SplitLayerCount => Model.vision_model.StageCount;

    /// <summary>The output of stage <paramref name="layer"/> (a ResNet's layer1 … layer4, a ViT's encoder layers) as
    /// tokens: a feature map [N, C, h, w] as h·w tokens of C channels, a ViT's states as they are.</summary>
    public (Tensor Tokens, TokenGrid Grid) ImageTokensAfter(Tensor pixelValues, int layer)
    {
        CheckSplitLayer(layer);
        using var scope = NewDisposeScope();
        var tower = Model.vision_model;
        var (tokens, grid) = tower.AsTokens(tower.Stages(tower.Stem(pixelValues), 0, layer));
        return (tokens.MoveToOuterDisposeScope(), grid);
    }

    public Tensor ImageFeaturesFromTokens(Tensor tokens, TokenGrid grid, int layer)
    {
        CheckSplitLayer(layer);
        using var scope = NewDisposeScope();
        var tower = Model.vision_model;
        var pooled = tower.Pool(tower.Stages(tower.FromTokens(tokens, grid), layer, tower.StageCount));
        return Model.visual_projection.forward(pooled).MoveToOuterDisposeScope();
    }

    private void CheckSplitLayer(int layer)
    {
        if (layer < 1 || layer > SplitLayerCount)
            throw new OptionException($"layer {layer} does not exist: the image tower has stages 1 to {SplitLayerCount}");
    }

    public override void WriteModelFiles(string folder) => DualEncoderCheckpoint.WriteFiles(this, folder);

    protected override IImageFilePreprocessor ImageFilePreprocessor => ImageProcessor;

    protected override void DisposeResources() => ImageProcessor.Dispose();

    /// <summary>The copy owns a copy of the processor (a ResNet's mean image), since each pipeline disposes its own.</summary>
    protected override VisionLanguagePipeline CreateSibling() =>
        new DualEncoderPipeline(new VisionTextDualEncoderModel(Model.Config), Tokenizer, ImageProcessor.Copy(), Device, Source)
        {
            ImageBatchSize = ImageBatchSize, TextBatchSize = TextBatchSize,
        };
}
