using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Onnx;
using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>A <see cref="VisionTextDualEncoderModel"/> with its WordPiece tokenizer and its ResNet image processor:
/// the second kind of <see cref="IVisionLanguageModel"/>. It owns the processor (which holds the mean image).</summary>
public sealed class DualEncoderPipeline(VisionTextDualEncoderModel model, BertWordPieceTokenizer tokenizer, ResNetImageProcessor imageProcessor,
    ComputeDevice device, CheckpointSource? source = null) : VisionLanguagePipeline(model, device, source), ISplitImageTower
{
    /// <summary>Tokens per text, [CLS] and [SEP] included; longer texts are cut.</summary>
    public const int MaxTextLength = 77;

    public VisionTextDualEncoderModel Model { get; } = model;

    public BertWordPieceTokenizer Tokenizer { get; } = tokenizer;

    public ResNetImageProcessor ImageProcessor { get; private set; } = imageProcessor;

    /// <summary>Makes the model take images of <paramref name="imageSize"/> px, by resizing the processor's mean image
    /// (bilinear): small images (the 64 px emoji) need not be blown up to 224 px, which costs (224 / size)² more per
    /// image in every forward pass. Changes what the features are, so the identity changes.</summary>
    public void ResizeImageInput(int imageSize)
    {
        if (imageSize == ImageSize) return;
        Model.SetImageSize(imageSize);
        var resized = ImageProcessor.Resized(imageSize);
        ImageProcessor.Dispose();
        ImageProcessor = resized;
        WeightsChanged();
    }

    public override int EmbeddingSize => Model.Config.ProjectionDim;

    public override int ImageSize => ImageProcessor.Height;

    public override Parameter LogitScale => Model.logit_scale;

    public override IReadOnlyList<(string Name, object Value)> Architecture
    {
        get
        {
            var config = Model.Config;
            return
            [
                ("model type", DualEncoderConfig.ModelType),
                ("image tower", $"ResNet of basic blocks, stages [{string.Join(", ", config.Vision.Layers)}], {config.Vision.FeatureWidth} features"),
                ("image size", config.ImageSize),
                ("text tower", $"BERT, width {config.Text.HiddenSize}, {config.Text.NumHiddenLayers} layers, {config.Text.NumAttentionHeads} heads, {config.TextPooling} pooling"),
                ("context length / vocabulary", $"{MaxTextLength} / {config.Text.VocabSize}"),
            ];
        }
    }

    /// <summary>The image size is in config.json, not in the weights file, and changes every image feature.</summary>
    protected override string IdentitySalt => $"image_size={ImageSize}";

    public override Tensor Normalize(Tensor pixels) => ImageProcessor.FromPixelValues(pixels.mul(LiveScalars.ByteMaximum));

    public override int ContextLength => MaxTextLength;

    public override int CountTokens(string text) => Tokenizer.Encode(text, int.MaxValue).Length;

    public override Tensor Tokenize(IReadOnlyList<string> texts) => Tokenizer.TokenizeBatch(texts, MaxTextLength).Ids;

    public override Tensor ImageFeatures(Tensor pixelValues) => Model.GetImageFeatures(pixelValues);

    public override Tensor TextFeatures(Tensor tokenIds) => Model.GetTextFeatures(tokenIds);

    public int SplitLayerCount => ResNetModel.StageCount;

    /// <summary>The feature map after ResNet stage <paramref name="layer"/> (layer1 … layer4), [N, C, h, w] read as
    /// h·w tokens of C channels.</summary>
    public (Tensor Tokens, TokenGrid Grid) ImageTokensAfter(Tensor pixelValues, int layer)
    {
        CheckSplitLayer(layer);
        using var scope = NewDisposeScope();
        var tower = Model.vision_model;
        var map = tower.Stages(tower.Stem(pixelValues), 0, layer);
        var grid = new TokenGrid(0, (int)map.shape[2], (int)map.shape[3]);
        return (map.flatten(2).transpose(1, 2).MoveToOuterDisposeScope(), grid);
    }

    public Tensor ImageFeaturesFromTokens(Tensor tokens, TokenGrid grid, int layer)
    {
        CheckSplitLayer(layer);
        using var scope = NewDisposeScope();
        var tower = Model.vision_model;
        var map = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], grid.Height, grid.Width);
        var pooled = tower.Pool(tower.Stages(map, layer, ResNetModel.StageCount));
        return Model.visual_projection.forward(pooled).MoveToOuterDisposeScope();
    }

    private static void CheckSplitLayer(int layer)
    {
        if (layer < 1 || layer > ResNetModel.StageCount)
            throw new OptionException($"layer {layer} does not exist: the ResNet has stages 1 to {ResNetModel.StageCount}");
    }

    public override void WriteModelFiles(string folder) => DualEncoderCheckpoint.WriteFiles(this, folder);

    protected override Imaging.IImageFilePreprocessor ImageFilePreprocessor => ImageProcessor;

    protected override void DisposeResources() => ImageProcessor.Dispose();

    /// <summary>The copy owns a copy of the processor (its mean image), since each pipeline disposes its own.</summary>
    protected override VisionLanguagePipeline CreateSibling() =>
        new DualEncoderPipeline(new VisionTextDualEncoderModel(Model.Config), Tokenizer, ImageProcessor.Copy(), Device, Source)
        {
            ImageBatchSize = ImageBatchSize, TextBatchSize = TextBatchSize,
        };
}
