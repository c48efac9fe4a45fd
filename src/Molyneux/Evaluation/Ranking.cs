using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>The one tie rule of every metric here: candidates are ordered by score, highest first, and equal scores by
/// index, lowest first. A candidate is in the top k when fewer than k candidates come before it in that order, so a
/// tie at the k-th place is a hit only for the tied candidates with the lowest indices, and top-1 predictions are the
/// lowest-index maximum (as numpy's and torch's argmax). Results therefore never depend on sort stability.</summary>
internal static class Ranking
{
    /// <summary>How many candidates of <paramref name="scores"/> come before candidate <paramref name="index"/>.</summary>
    public static int RankOf(ReadOnlySpan<float> scores, int index)
    {
        var score = scores[index];
        var rank = 0;
        for (var i = 0; i < scores.Length; i++)
            if (scores[i] > score || (scores[i] == score && i < index))
                rank++;
        return rank;
    }

    /// <summary>The first candidate in the order, the prediction.</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        var best = 0;
        for (var i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best])
                best = i;
        return best;
    }

    /// <summary>The values of a 2-D score tensor, row-major, checked to be finite: a NaN would compare false with
    /// everything and silently rank first.</summary>
    public static float[] ReadMatrix(Tensor scores, string name)
    {
        if (scores.dim() != 2)
            throw new ArgumentException($"{name}: expected a 2-D tensor, got shape [{string.Join(", ", scores.shape)}]", name);
        if (scores.numel() == 0) return [];
        using var cpu = scores.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        if (values.Any(value => !float.IsFinite(value)))
            throw new ArgumentException($"{name}: contains NaN or infinite scores", name);
        return values;
    }
}
