using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>A CoCa's contrastive features of raw inputs, unnormalized, as open_clip's <c>encode_image</c> and
/// <c>encode_text</c> with <c>normalize=False</c>: images with the preprocessing <see cref="Captioner"/> uses, texts
/// tokenized with OpenAI's CLIP BPE to the text tower's context length (truncated with the end token kept last, padded
/// with 0, as open_clip's tokenizer does for CoCa).</summary>
public sealed class CocaEncoder(CocaModel model)
{
    /// <summary>Images or texts encoded together.</summary>
    public const int BatchSize = 64;

    public CocaModel Model { get; } = model;

    public ClipImageProcessor ImageProcessor { get; } = ClipImageProcessor.Default(model.Config.Vision.ImageSize);

    public ClipTokenizer Tokenizer { get; } = Captioner.OpenClipTokenizer(model.Config);

    /// <returns>CPU float32 [N, embed_dim]</returns>
    public Tensor EncodeTexts(IReadOnlyList<string> texts) =>
        BatchedInference.Run(texts, BatchSize, Model.Config.EmbedDim, progress: null,
            batch => Model.GetTextFeatures(Tokenizer.TokenizeBatch(batch, Model.text.ContextLength).to(Model.Device)));

    /// <returns>CPU float32 [N, embed_dim]</returns>
    public Tensor EncodeImages(IReadOnlyList<string> paths) =>
        BatchedInference.RunFiles(paths, BatchSize, Model.Config.EmbedDim, progress: null, ImageProcessor,
            pixels => Model.GetImageFeatures(pixels.to(Model.Device)));

    /// <param name="pixelValues">normalized images [N, 3, size, size], on any device</param>
    /// <param name="source">names the images in an error message</param>
    /// <returns>CPU float32 [N, embed_dim]</returns>
    public Tensor EncodePixels(Tensor pixelValues, string source)
    {
        Captioner.RequireImageSize(Model, pixelValues, source);
        return BatchedInference.Run(Enumerable.Range(0, (int)pixelValues.shape[0]).ToList(), BatchSize, Model.Config.EmbedDim, progress: null,
            rows => Model.GetImageFeatures(pixelValues.narrow(0, rows[0], rows.Count).to(Model.Device)));
    }
}
