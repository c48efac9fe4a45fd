using Molyneux.Asif;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Onnx;
using Molyneux.Runtime;
using Molyneux.Tokenization;

namespace Molyneux.Checkpoints;

/// <summary>Where a dual encoder's towers, tokenizer and image processor come from: a dual encoder folder's files,
/// chosen by each tower's model_type, or pretrained towers named as ASIF names its encoders
/// (<see cref="UnimodalEncoders"/>): the built-in <c>resnet18-imagenet</c> and <c>minilm</c>, or a folder of a HF ViT,
/// BERT, CLIP tower with projection, or a whole CLIP or dual encoder (of which one tower is taken; its projection is
/// not).</summary>
public static class DualEncoderTowers
{
    /// <summary>The tokenizer files of a dual encoder folder whose text tower is <paramref name="text"/>.</summary>
    public static ITextTowerTokenizer ReadTokenizer(ITextTowerConfig text, string folder) => text switch
    {
        BertConfig => BertWordPieceTokenizer.FromFolder(folder),
        ClipTextConfig => ClipTokenizer.FromFolder(folder),
        _ => throw new ConfigException($"{folder}: no tokenizer is known for a '{text.ModelType}' text tower"),
    };

    /// <summary>The image processor of a dual encoder folder whose image tower is <paramref name="vision"/>; a
    /// transformer tower's preprocessor_config.json may be absent (HF's defaults for the tower then apply).</summary>
    public static IImageTowerProcessor ReadProcessor(IImageTowerConfig vision, string folder)
    {
        var file = Path.Combine(folder, ClipImageProcessor.FileName);
        return vision switch
        {
            ResNetConfig => ResNetImageProcessor.FromFolder(folder),
            ViTConfig => File.Exists(file) ? ViTImageProcessor.FromFile(file) : ViTImageProcessor.Default(vision.ImageSize),
            ClipVisionConfig => File.Exists(file) ? ClipImageProcessor.FromFile(file) : ClipImageProcessor.Default(vision.ImageSize),
            _ => throw new ConfigException($"{folder}: no image processor is known for a '{vision.ModelType}' image tower"),
        };
    }

    /// <summary>A pretrained image tower, its shape and its processor, on the CPU.</summary>
    public static (IImageTowerConfig Config, IImageTower Tower, IImageTowerProcessor Processor) LoadImageTower(string source) =>
        UnimodalEncoders.LoadImageEncoder(source) switch
        {
            ResNetImageEncoder resnet => (resnet.Model.Config with { ImageSize = resnet.Processor.Height }, resnet.Model, resnet.Processor),
            ViTImageEncoder vit => (vit.Model.Config, vit.Model, vit.Processor),
            ClipVisionEncoder clip => Clip(clip.Model.Config.Vision, (ClipVisionTransformer)clip.Model.Transformer, clip.Processor),
            ClipPipeline clip => Clip(clip.Model.Config.Vision, clip.Model.vision_model, clip.ImageProcessor),
            DualEncoderPipeline dual => (dual.Model.Config.Vision, dual.Model.vision_model, dual.ImageProcessor),
            var other => throw new ConfigException($"{source}: a {other.GetType().Name} cannot be a dual encoder's image tower"),
        };

    /// <summary>A pretrained text tower, its shape and its tokenizer, on the CPU.</summary>
    public static (ITextTowerConfig Config, ITextTower Tower, ITextTowerTokenizer Tokenizer) LoadTextTower(string source) =>
        UnimodalEncoders.LoadTextEncoder(source) switch
        {
            BertTextEncoder bert => (bert.Model.Config, bert.Model, bert.Tokenizer),
            ClipTextEncoder clip => (clip.Model.Config.Text, new ClipTextModel((ClipTextTransformer)clip.Model.Transformer), clip.Tokenizer),
            ClipPipeline clip => (clip.Model.Config.Text, new ClipTextModel(clip.Model.text_model), clip.Tokenizer),
            DualEncoderPipeline dual => (dual.Model.Config.Text, dual.Model.text_model, dual.Tokenizer),
            var other => throw new ConfigException($"{source}: a {other.GetType().Name} cannot be a dual encoder's text tower"),
        };

    private static (IImageTowerConfig, IImageTower, IImageTowerProcessor) Clip(ClipVisionConfig config, ClipVisionTransformer transformer, ClipImageProcessor processor) =>
        (config, new ClipVisionModel(config, transformer), processor);
}
