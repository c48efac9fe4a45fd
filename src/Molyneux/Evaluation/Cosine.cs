using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Cosine similarity between embeddings, the score of every zero-shot task here.</summary>
internal static class Cosine
{
    /// <summary>Unit rows in float32; the epsilon (as torch.nn.functional.normalize) keeps an all-zero embedding at zero
    /// instead of NaN.</summary>
    public static Tensor Normalize(Tensor rows) => nn.functional.normalize(rows.to(ScalarType.Float32), p: 2, dim: 1, eps: 1e-12);

    /// <summary>[A, B] cosines between the rows of <paramref name="a"/> [A, E] and of <paramref name="b"/> [B, E].</summary>
    public static Tensor Similarity(Tensor a, Tensor b)
    {
        using var unitA = Normalize(a);
        using var unitB = Normalize(b);
        return unitA.matmul(unitB.t());
    }
}
