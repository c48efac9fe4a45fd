using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>A CLIP model with what it needs to read raw inputs: its tokenizer, its image preprocessing, the device
/// it runs on, and where it came from. It encodes files and strings in batches, without gradients.</summary>
public sealed class ClipPipeline(ClipModel model, ClipTokenizer tokenizer, ClipImageProcessor imageProcessor, ComputeDevice device, CheckpointSource? source = null)
    : VisionLanguagePipeline(model, device, source), ISplitImageTower
{
    public ClipModel Model { get; } = model;

    public ClipTokenizer Tokenizer { get; private set; } = tokenizer;

    public ClipImageProcessor ImageProcessor { get; } = imageProcessor;

    public override int EmbeddingSize => Model.Config.ProjectionDim;

    public override int ImageSize => Model.Config.Vision.ImageSize;

    public override Parameter LogitScale => Model.logit_scale;

    public override IReadOnlyList<(string Name, object Value)> Architecture
    {
        get
        {
            var config = Model.Config;
            return
            [
                ("model type", "clip"),
                ("image size / patch", $"{config.Vision.ImageSize} / {config.Vision.PatchSize}"),
                ("vision width / layers / heads", $"{config.Vision.HiddenSize} / {config.Vision.NumHiddenLayers} / {config.Vision.NumAttentionHeads}"),
                ("text width / layers / heads", $"{config.Text.HiddenSize} / {config.Text.NumHiddenLayers} / {config.Text.NumAttentionHeads}"),
                ("context length / vocabulary", $"{config.Text.MaxPositionEmbeddings} / {config.Text.VocabSize}"),
                ("activation", config.Vision.HiddenAct),
            ];
        }
    }

    /// <summary>Records changed weights (<see cref="VisionLanguagePipeline.WeightsChanged"/>) with the tokenizer
    /// that goes with them when the vocabulary grew.</summary>
    public void WeightsChanged(ClipTokenizer? tokenizer)
    {
        if (tokenizer is not null && tokenizer.VocabularySize != Model.Config.Text.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabularySize} tokens but the model's vocab_size is {Model.Config.Text.VocabSize}", nameof(tokenizer));
        Tokenizer = tokenizer ?? Tokenizer;
        WeightsChanged();
    }

    public override Tensor Normalize(Tensor pixels) => ImageProcessor.Normalize(pixels);

    /// <summary>The tokenizer and image processor are immutable, so the copy shares them.</summary>
    protected override VisionLanguagePipeline CreateSibling() =>
        new ClipPipeline(new ClipModel(Model.Config), Tokenizer, ImageProcessor, Device, Source) { ImageBatchSize = ImageBatchSize, TextBatchSize = TextBatchSize };

    public override int ContextLength => Model.Config.Text.MaxPositionEmbeddings;

    public override int CountTokens(string text) => Tokenizer.Encode(text).Length + 2;

    public override Tensor Tokenize(IReadOnlyList<string> texts) => Tokenizer.TokenizeBatch(texts, ContextLength);

    public override Tensor ImageFeatures(Tensor pixelValues) => Model.GetImageFeatures(pixelValues);

    public override Tensor TextFeatures(Tensor tokenIds) => Model.GetTextFeatures(tokenIds);

    public int SplitLayerCount => Model.Config.Vision.NumHiddenLayers;

    /// <summary>The output of encoder layer <paramref name="layer"/>: the class token, then the patch grid.</summary>
    public (Tensor Tokens, TokenGrid Grid) ImageTokensAfter(Tensor pixelValues, int layer)
    {
        CheckSplitLayer(layer);
        var grid = Model.Config.Vision.GridSize;
        return (Model.vision_model.ForwardToLayer(pixelValues, layer), new TokenGrid(1, grid, grid));
    }

    public Tensor ImageFeaturesFromTokens(Tensor tokens, TokenGrid grid, int layer)
    {
        CheckSplitLayer(layer);
        return Model.GetImageFeaturesFromLayer(tokens, layer);
    }

    private void CheckSplitLayer(int layer)
    {
        if (layer < 1 || layer > SplitLayerCount)
            throw new OptionException($"layer {layer} does not exist: the vision encoder has layers 1 to {SplitLayerCount}");
    }

    public override void WriteModelFiles(string folder) => ClipCheckpoint.WriteHuggingFaceFiles(this, folder);

    protected override IImageFilePreprocessor ImageFilePreprocessor => ImageProcessor;
}
