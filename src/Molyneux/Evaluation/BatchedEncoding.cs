using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Encodes texts or images in batches (bounded memory, progress after each batch) through the optional
/// embedding cache.</summary>
internal static class BatchedEncoding
{
    public static Tensor EncodeTexts(ITextEncoder encoder, IReadOnlyList<string> texts, int batchSize, EmbeddingCache? cache, IProgress<EvaluationProgress>? progress) =>
        Encode(
            texts, batchSize, cache, progress, EvaluationStage.EncodingTexts,
            () => EmbeddingCache.KeyForTexts(encoder.Identity, texts),
            batch => encoder.EncodeTexts(batch));

    public static Tensor EncodeImages(IImageEncoder encoder, IReadOnlyList<string> imagePaths, int batchSize, EmbeddingCache? cache, IProgress<EvaluationProgress>? progress) =>
        Encode(
            imagePaths, batchSize, cache, progress, EvaluationStage.EncodingImages,
            () => EmbeddingCache.KeyForImages(encoder.Identity, imagePaths),
            batch => encoder.EncodeImages(batch));

    private static Tensor Encode(
        IReadOnlyList<string> items, int batchSize, EmbeddingCache? cache, IProgress<EvaluationProgress>? progress,
        EvaluationStage stage, Func<string> key, Func<IReadOnlyList<string>, Tensor> encodeBatch)
    {
        if (batchSize < 1)
            throw new OptionException($"--batch-size: must be at least 1, got {batchSize}");

        Tensor EncodeAll()
        {
            var parts = new List<Tensor>();
            for (var start = 0; start < items.Count; start += batchSize)
            {
                var batch = items.Skip(start).Take(batchSize).ToList();
                var part = encodeBatch(batch);
                parts.Add(part);
                // A wrong row count would misalign every later embedding with its item, and the cache would keep it.
                if (part.dim() != 2 || part.shape[0] != batch.Count)
                    throw new InvalidOperationException($"the encoder returned shape [{string.Join(", ", part.shape)}] for {batch.Count} items");
                progress?.Report(new EvaluationProgress(stage, start + batch.Count, items.Count));
            }
            var all = cat(parts, 0);
            foreach (var part in parts) part.Dispose();
            return all;
        }

        if (cache is null) return EncodeAll();
        var encoded = false;
        var embeddings = cache.GetOrAdd(key(), () =>
        {
            encoded = true;
            return EncodeAll();
        });
        if (!encoded) progress?.Report(new EvaluationProgress(stage, items.Count, items.Count));
        return embeddings;
    }
}
