using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>Relative representations of a batch of inputs: row r is nonzero at the anchors
/// <c>Indices[r·K .. r·K + K − 1]</c> only, with <see cref="Weights"/> there (unit norm per row), while
/// <see cref="Similarities"/> keeps the cosines they came from, for explanations. The anchors of a row are in
/// descending order of similarity.</summary>
public sealed record SparseRows(int Rows, int K, long AnchorCount, int[] Indices, float[] Similarities, float[] Weights)
{
    public ReadOnlySpan<int> IndicesOf(int row) => Indices.AsSpan(row * K, K);

    public ReadOnlySpan<float> WeightsOf(int row) => Weights.AsSpan(row * K, K);

    public ReadOnlySpan<float> SimilaritiesOf(int row) => Similarities.AsSpan(row * K, K);

    /// <summary>Row <paramref name="row"/> alone.</summary>
    public SparseRows Row(int row) => new(1, K, AnchorCount, IndicesOf(row).ToArray(), SimilaritiesOf(row).ToArray(), WeightsOf(row).ToArray());

    /// <summary>The scalar products of every row here with every row of <paramref name="candidates"/>, [Rows,
    /// candidates.Rows]. Computed through an inverted list (for each anchor, the candidates that keep it), so a pair
    /// costs only its shared anchors: about K² / anchors per pair instead of K, and nothing grows with the number of
    /// anchors beyond one int per anchor.</summary>
    public Tensor Products(SparseRows candidates)
    {
        if (candidates.AnchorCount != AnchorCount)
            throw new ArgumentException($"representations over {AnchorCount} and {candidates.AnchorCount} anchors cannot be compared");
        var (start, members, weights) = candidates.Postings();
        var products = new float[(long)Rows * candidates.Rows];
        Parallel.For(0, Rows, row =>
        {
            var output = products.AsSpan(row * candidates.Rows, candidates.Rows);
            var indices = IndicesOf(row);
            var rowWeights = WeightsOf(row);
            for (var j = 0; j < K; j++)
            {
                var weight = rowWeights[j];
                if (weight == 0) continue;
                var anchor = indices[j];
                for (var p = start[anchor]; p < start[anchor + 1]; p++)
                    output[members[p]] += weight * weights[p];
            }
        });
        return tensor(products, [Rows, candidates.Rows]);
    }

    /// <summary>Per anchor, the rows that keep it with their weights (compressed sparse columns).</summary>
    private (int[] Start, int[] Rows, float[] Weights) Postings()
    {
        var start = new int[AnchorCount + 1];
        foreach (var anchor in Indices) start[anchor + 1]++;
        for (var a = 0; a < AnchorCount; a++) start[a + 1] += start[a];
        var next = start[..^1];
        var rows = new int[Indices.Length];
        var weights = new float[Indices.Length];
        for (var i = 0; i < Indices.Length; i++)
        {
            var position = next[Indices[i]]++;
            rows[position] = i / K;
            weights[position] = Weights[i];
        }
        return (start, rows, weights);
    }
}
