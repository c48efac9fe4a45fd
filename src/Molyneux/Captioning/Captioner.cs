using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>One image's caption: the ids as generated (start token first, up to and including the end token when
/// there is one) and their text.</summary>
public sealed record Caption(string Source, long[] Ids, string Text);

/// <summary>Captions images with a CoCa model: CLIP's preprocessing at the model's image size with OpenAI's mean and
/// std (open_clip's for CoCa), generation, and text decoded with OpenAI's CLIP BPE, which open_clip's CoCa models
/// tokenize with.</summary>
public sealed class Captioner(CocaModel model)
{
    /// <summary>Images generated together; beam search runs beams × this many captions at once.</summary>
    public const int ImagesPerBatch = 16;

    public CocaModel Model { get; } = model;

    public ClipImageProcessor ImageProcessor { get; } = ClipImageProcessor.Default(model.Config.Vision.ImageSize);

    public ClipTokenizer Tokenizer { get; } = OpenClipTokenizer(model.Config);

    /// <summary>open_clip's greedy generation up to 30 ids or the model's context: the captions training probes and
    /// Knowledge Transfer's measurements read.</summary>
    public CaptionOptions Greedy { get; } = new()
    {
        Decoding = CaptionDecoding.Greedy,
        MaxLength = Math.Min(30, Math.Min(model.Config.Text.ContextLength, model.Config.Multimodal.ContextLength)),
    };

    /// <summary>Captions image files, preprocessing each batch as it is generated, so a large dataset is never held
    /// in memory as pixels all at once; <paramref name="progress"/> hears the images captioned so far after each batch.</summary>
    public IReadOnlyList<Caption> CaptionFiles(IReadOnlyList<string> paths, CaptionOptions options, IProgress<int>? progress = null)
    {
        // The reader's batches are CaptionBatches' own, taken in the same order; the next ones decode while one generates.
        using var reader = ImagePipeline.Open(paths, ImagesPerBatch, ImageProcessor);
        return CaptionBatches(paths, options, (_, _) => reader.Next(), progress);
    }

    /// <param name="pixelValues">normalized images [N, 3, size, size], on any device</param>
    /// <param name="sources">names the N images in the results</param>
    /// <param name="options">How captions are generated (greedy or beam, lengths, repetition penalty).</param>
    /// <param name="progress">Hears the images captioned so far (generation is the slow part); null: silent.</param>
    public IReadOnlyList<Caption> CaptionPixels(Tensor pixelValues, IReadOnlyList<string> sources, CaptionOptions options, IProgress<int>? progress = null)
    {
        VisionLanguagePipeline.RequireImageSize(Model.Config.Vision.ImageSize, pixelValues, sources.FirstOrDefault());
        return CaptionBatches(sources, options, (start, count) => pixelValues.narrow(0, start, count), progress);
    }

    /// <param name="batchPixels">the model inputs of images start..start + count − 1</param>
    /// <param name="sources">Names the images in the results, in order; their count is the number of images.</param>
    /// <param name="options">How captions are generated, including the batch size.</param>
    /// <param name="progress">Hears the images captioned so far; null: silent.</param>
    private List<Caption> CaptionBatches(IReadOnlyList<string> sources, CaptionOptions options, Func<int, int, Tensor> batchPixels, IProgress<int>? progress)
    {
        var captions = new List<Caption>(sources.Count);
        for (var start = 0; start < sources.Count; start += ImagesPerBatch)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(ImagesPerBatch, sources.Count - start);
            // Each batch samples with its own seed, so that images in different batches do not share random draws.
            var batchOptions = options with { Seed = options.Seed + (ulong)(start / ImagesPerBatch) };
            var ids = CaptionGeneration.Generate(Model, batchPixels(start, count).to(Model.Device), batchOptions).cpu();
            for (var row = 0; row < count; row++)
                captions.Add(Describe(sources[start + row], ids[row].data<long>().ToArray(), options));
            progress?.Report(captions.Count);
        }
        return captions;
    }

    /// <summary>The row cut after its end token (the pad ids there only fill the batch), and its text as open_clip
    /// reads a caption: the ids between the start token and the first end token, decoded, without the trailing
    /// space of the last word.</summary>
    private Caption Describe(string source, long[] row, CaptionOptions options)
    {
        var end = Array.IndexOf(row, options.EndTokenId, 1);
        var ids = end < 0 ? row : row[..(end + 1)];
        var words = ids[1..(end < 0 ? ids.Length : end)];
        return new Caption(source, ids, Tokenizer.Decode(words.Select(id => (int)id)).Trim());
    }

    /// <summary>OpenAI's CLIP BPE, checked against the model's vocabulary size.</summary>
    internal static ClipTokenizer OpenClipTokenizer(CocaConfig config)
    {
        var tokenizer = ClipTokenizer.OpenAiDefault();
        if (tokenizer.VocabularySize != config.VocabSize)
            throw new TokenizerException($"the model's vocab_size is {config.VocabSize}, but OpenAI's CLIP BPE, which open_clip's CoCa " +
                                         $"uses, has {tokenizer.VocabularySize} tokens");
        return tokenizer;
    }
}
