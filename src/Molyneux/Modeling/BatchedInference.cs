using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>The loop every encoder runs over files or strings: a batch at a time, without gradients, each batch's
/// temporaries freed before the next, features gathered as CPU float32 whatever the device and dtype.</summary>
internal static class BatchedInference
{
    /// <param name="encodeBatch">Features [batch, embeddingSize] of one batch, on any device.</param>
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
}
