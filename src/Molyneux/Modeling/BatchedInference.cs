using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>The loop every encoder runs over files or strings: a batch at a time, without gradients, each batch's
/// temporaries freed before the next, features gathered as CPU float32 whatever the device and dtype.</summary>
internal static class BatchedInference
{
    /// <param name="encodeBatch">Features [batch, embeddingSize] of one batch, on any device.</param>
    /// <param name="items">What to encode (paths, texts, …), in the order of the result's rows.</param>
    /// <param name="batchSize">Items per call of <paramref name="encodeBatch"/>: bounds the memory one batch takes.</param>
    /// <param name="embeddingSize">The feature width, to allocate the result before the first batch.</param>
    /// <param name="progress">Hears the items encoded so far; null: silent.</param>
    public static Tensor Run<T>(IReadOnlyList<T> items, int batchSize, int embeddingSize, IProgress<int>? progress,
        Func<IReadOnlyList<T>, Tensor> encodeBatch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = new List<Tensor>();
        for (var start = 0; start < items.Count; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            var batch = items.Skip(start).Take(batchSize).ToArray();
            features.Add(encodeBatch(batch).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
            progress?.Report(Math.Min(start + batchSize, items.Count));
        }
        var all = features.Count == 0 ? zeros(0, embeddingSize) : cat(features, 0);
        return all.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Run{T}"/> over image files: <paramref name="processor"/> decodes and preprocesses each batch
    /// on the <see cref="ImagePipeline"/> (on other threads, ahead of the encoder, when it has workers) and the batch
    /// is encoded here by <paramref name="encodePixels"/> (model inputs on the CPU → features [batch, embeddingSize] on
    /// any device). The features are the same with and without workers; <paramref name="workers"/> is
    /// <see cref="ImagePipeline.DecodeWorkers"/> unless given.</summary>
    public static Tensor RunFiles(IReadOnlyList<string> paths, int batchSize, int embeddingSize, IProgress<int>? progress,
        IImageFilePreprocessor processor, Func<Tensor, Tensor> encodePixels, int? workers = null)
    {
        // Disposed before this returns or throws, so that no decoding outlives the call.
        using var reader = ImagePipeline.Open(paths, batchSize, processor, workers);
        return Run(paths, batchSize, embeddingSize, progress, _ => encodePixels(reader.Next()));
    }
}
