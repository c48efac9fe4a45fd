using Molyneux.Imaging;
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
        Batched(texts.Count, (start, count) => Model.GetTextFeatures(Tokenizer.TokenizeBatch([.. texts.Skip(start).Take(count)], Model.text.ContextLength).to(Model.Device)));

    /// <returns>CPU float32 [N, embed_dim]</returns>
    public Tensor EncodeImages(IReadOnlyList<string> paths) =>
        Batched(paths.Count, (start, count) => Model.GetImageFeatures(ImageProcessor.PreprocessFiles([.. paths.Skip(start).Take(count)]).to(Model.Device)));

    /// <param name="pixelValues">normalized images [N, 3, size, size], on any device</param>
    /// <param name="source">names the images in an error message</param>
    /// <returns>CPU float32 [N, embed_dim]</returns>
    public Tensor EncodePixels(Tensor pixelValues, string source)
    {
        Captioner.RequireImageSize(Model, pixelValues, source);
        return Batched((int)pixelValues.shape[0], (start, count) => Model.GetImageFeatures(pixelValues.narrow(0, start, count).to(Model.Device)));
    }

    /// <param name="encode">the features of inputs start..start + count − 1</param>
    private Tensor Batched(int total, Func<int, int, Tensor> encode)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var batches = new List<Tensor>();
        for (var start = 0; start < total; start += BatchSize)
            batches.Add(encode(start, Math.Min(BatchSize, total - start)).cpu());
        var features = batches.Count == 0 ? empty(0, Model.Config.EmbedDim) : cat(batches, 0);
        return features.MoveToOuterDisposeScope();
    }
}
