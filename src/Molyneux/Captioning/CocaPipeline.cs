using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>A CoCa as the vision-language model Knowledge Transfer, evaluation and the commands work on: its
/// contrastive towers are the dual encoder (open_clip's <c>encode_image</c> / <c>encode_text</c>, with the
/// preprocessing and tokenizer of <see cref="Captioner"/>), and it also captions, so fine-tuning adds the captioning
/// loss (<see cref="ICaptioningModel"/>). The parameter groups follow open_clip's module names: the image tower is
/// <c>visual</c> without its <c>proj</c>, the text tower <c>text</c> without its <c>text_projection</c>, and the
/// decoder <c>text_decoder</c>. It is saved as an open_clip folder (<see cref="CocaCheckpoint.SaveFolder"/>).</summary>
public sealed class CocaPipeline(CocaModel model, ComputeDevice device, CheckpointSource? source = null)
    : VisionLanguagePipeline(model, device, source), ICaptioningModel
{
    public CocaModel Model { get; } = model;

    /// <summary>The tokenizer, image preprocessing and generation the model goes with.</summary>
    public Captioner Captioner { get; } = new(model);

    public override int EmbeddingSize => Model.Config.EmbedDim;

    public override int ImageSize => Model.Config.Vision.ImageSize;

    public override Parameter LogitScale => Model.logit_scale;

    public override IReadOnlyList<(string Name, object Value)> Architecture
    {
        get
        {
            var (vision, text, decoder) = (Model.Config.Vision, Model.Config.Text, Model.Config.Multimodal);
            return
            [
                ("model type", "coca"),
                ("image size / patch", $"{vision.ImageSize} / {vision.PatchSize}"),
                ("vision width / layers / heads", $"{vision.Width} / {vision.Layers} / {vision.Heads}"),
                ("text width / layers / heads", $"{text.Width} / {text.Layers} / {text.Heads}"),
                ("decoder width / layers / heads", $"{decoder.Width} / {decoder.Layers} / {decoder.Heads}"),
                ("context length / vocabulary", $"{text.ContextLength} / {text.VocabSize}"),
            ];
        }
    }

    public override Tensor Normalize(Tensor pixels) => Captioner.ImageProcessor.Normalize(pixels);

    public override int ContextLength => Model.text.ContextLength;

    public override int CountTokens(string text) => Captioner.Tokenizer.Encode(text).Length + 2;

    public override Tensor Tokenize(IReadOnlyList<string> texts) => Captioner.Tokenizer.TokenizeBatch(texts, ContextLength);

    public override Tensor ImageFeatures(Tensor pixelValues) => Model.GetImageFeatures(pixelValues);

    public override Tensor TextFeatures(Tensor tokenIds) => Model.GetTextFeatures(tokenIds);

    public override IReadOnlyList<Parameter> Parameters(ModelPart part) => part switch
    {
        ModelPart.ImageTower => Under("visual.", except: "visual.proj"),
        ModelPart.ImageProjection => [Model.visual.proj],
        ModelPart.TextTower => Under("text.", except: "text.text_projection"),
        ModelPart.TextProjection => [Model.text.text_projection],
        ModelPart.TextDecoder => Under("text_decoder."),
        ModelPart.Temperature => [LogitScale],
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, null),
    };

    public (Tensor ImageFeatures, Tensor CaptionLoss) ImageFeaturesAndCaptionLoss(Tensor pixelValues, Tensor tokenIds)
    {
        using var scope = NewDisposeScope();
        var (features, imageTokens) = Model.visual.forward(pixelValues);
        var loss = Model.CaptionLoss(Model.CaptionLogits(imageTokens, tokenIds), tokenIds);
        return (features.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope());
    }

    public IReadOnlyList<string> Caption(Tensor pixelValues)
    {
        using var mode = new EvaluationMode(Model);
        using var _ = no_grad();
        var sources = Enumerable.Range(0, (int)pixelValues.shape[0]).Select(i => $"image {i}").ToList();
        return Captioner.CaptionPixels(pixelValues.to(Device.DType), sources, Captioner.Greedy).Select(caption => caption.Text).ToList();
    }

    public override void WriteModelFiles(string folder) => CocaCheckpoint.SaveFolder(Model, folder);

    protected override VisionLanguagePipeline CreateSibling() =>
        new CocaPipeline(new CocaModel(Model.Config), Device, Source) { ImageBatchSize = ImageBatchSize, TextBatchSize = TextBatchSize };

    protected override IImageFilePreprocessor ImageFilePreprocessor => Captioner.ImageProcessor;

    private IReadOnlyList<Parameter> Under(string prefix, string? except = null) => Model.named_parameters()
        .Where(entry => entry.name.StartsWith(prefix, StringComparison.Ordinal) && entry.name != except)
        .Select(entry => entry.parameter).ToList();
}
