using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>ASIF's relative representation (Norelli et al. 2023, Eq. 1 and §3): an input is described by its cosine
/// similarities to the anchors of its own modality, sparsified to the k largest, raised to the power p and
/// L2-normalized. An image and a text then live in the same space — one coordinate per anchor pair — though their
/// encoders never met.</summary>
public static class RelativeRepresentation
{
    /// <summary>The k largest cosines of each query with the anchors, descending, and the anchors' indices: values
    /// float32 [N, k'] and indices int64 [N, k'], k' = min(k, anchors). The anchors are read
    /// <paramref name="chunkRows"/> at a time and each chunk's top k merged into the running top k, so memory is
    /// N × (chunk + 2k) floats whatever the number of anchors.</summary>
    public static (Tensor Values, Tensor Indices) TopSimilarities(Tensor queries, AnchorMatrix anchors, int k, int chunkRows)
    {
        if (queries.dim() != 2 || queries.shape[1] != anchors.Dimension)
            throw new ArgumentException($"expected queries [N, {anchors.Dimension}], got [{string.Join(", ", queries.shape)}]", nameof(queries));
        if (anchors.Count == 0) throw new OptionException("the index has no anchors");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var unit = anchors.CentreQueries(queries);
        var kept = (int)Math.Min(k, anchors.Count);
        Tensor? values = null, indices = null;
        for (long start = 0; start < anchors.Count; start += chunkRows)
        {
            using var chunkScope = NewDisposeScope();
            var count = Math.Min(chunkRows, anchors.Count - start);
            var similarities = unit.matmul(anchors.ReadRows(start, count).t());
            var (chunkValues, chunkIndices) = similarities.topk((int)Math.Min(kept, count), dim: 1);
            chunkIndices = chunkIndices.Plus(start);
            if (values is not null)
            {
                var candidates = cat([values, chunkValues], 1);
                var (merged, positions) = candidates.topk((int)Math.Min(kept, candidates.shape[1]), dim: 1);
                chunkIndices = cat([indices!, chunkIndices], 1).gather(1, positions);
                chunkValues = merged;
            }
            values = chunkValues.MoveToOuterDisposeScope();
            indices = chunkIndices.MoveToOuterDisposeScope();
        }
        return (values!.MoveToOuterDisposeScope(), indices!.MoveToOuterDisposeScope());
    }

    /// <summary>Turns top similarities (as <see cref="TopSimilarities"/> returns them, or their first k columns: the
    /// top k of a longer top list) into relative representations.</summary>
    public static SparseRows FromSimilarities(Tensor values, Tensor indices, long anchorCount, AsifOptions options)
    {
        using var scope = NewDisposeScope();
        var kept = (int)Math.Min(options.NonZeros, values.shape[1]);
        var similarities = values[.., ..kept].contiguous();
        var clamped = options.ClampNegatives ? similarities.AtLeast(0) : similarities;
        var weights = nn.functional.normalize(clamped.Power(options.Exponent), p: 2, dim: 1, eps: 1e-12);
        var rows = (int)values.shape[0];
        return new SparseRows(rows, kept, anchorCount,
            indices[.., ..kept].to(ScalarType.Int32).contiguous().data<int>().ToArray(),
            similarities.data<float>().ToArray(),
            weights.contiguous().data<float>().ToArray());
    }

    /// <summary>The relative representations of <paramref name="embeddings"/> with respect to <paramref name="anchors"/>.</summary>
    public static SparseRows Compute(Tensor embeddings, AnchorMatrix anchors, AsifOptions options)
    {
        options.Validate();
        var (values, indices) = TopSimilarities(embeddings, anchors, options.NonZeros, options.ChunkRows);
        using (values)
        using (indices)
            return FromSimilarities(values, indices, anchors.Count, options);
    }
}
