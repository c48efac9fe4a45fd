using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Recall at one k in both directions, as fractions of images (image → text) and of captions (text →
/// image).</summary>
public sealed record RecallAtK(int K, double ImageToText, double TextToImage);

/// <summary>Image-text retrieval recalls, Flickr30k / COCO protocol as in CLIP_benchmark, from a similarity matrix
/// [I images, T captions] and the image of each caption. Image to text: an image is a hit at k when ANY of its captions
/// is among the k captions ranked first for it. Text to image: a caption is a hit at k when its own image is among the
/// k images ranked first for it. Recalls are fractions of images and of captions respectively. Ties follow
/// <see cref="Ranking"/>: equal similarities are ordered by index, lowest first; k is clamped to the candidates.</summary>
public sealed record RetrievalMetrics(
    double ImageToTextR1, double ImageToTextR5, double ImageToTextR10,
    double TextToImageR1, double TextToImageR5, double TextToImageR10)
{
    public static RetrievalMetrics Compute(Tensor similarity, IReadOnlyList<int> captionImageIndices)
    {
        var (imageRanks, captionRanks) = Ranks(similarity, captionImageIndices);
        return new RetrievalMetrics(
            Recall(imageRanks, 1), Recall(imageRanks, 5), Recall(imageRanks, 10),
            Recall(captionRanks, 1), Recall(captionRanks, 5), Recall(captionRanks, 10));
    }

    /// <summary>Both recalls at each k of <paramref name="ks"/> (CLIP_benchmark's <c>--recall_k</c>), in the order
    /// given, by the same definitions and tie rule as <see cref="Compute"/>.</summary>
    public static IReadOnlyList<RecallAtK> RecallsAt(Tensor similarity, IReadOnlyList<int> captionImageIndices, IReadOnlyList<int> ks)
    {
        foreach (var k in ks)
            if (k < 1) throw new OptionException($"--recall-k: k must be at least 1, got {k}");
        var (imageRanks, captionRanks) = Ranks(similarity, captionImageIndices);
        return ks.Select(k => new RecallAtK(k, Recall(imageRanks, k), Recall(captionRanks, k))).ToList();
    }

    /// <summary>Each image's rank of its best-placed caption and each caption's rank of its image (0 = first).</summary>
    private static (int[] ImageRanks, int[] CaptionRanks) Ranks(Tensor similarity, IReadOnlyList<int> captionImageIndices)
    {
        var values = Ranking.ReadMatrix(similarity, nameof(similarity));
        var images = (int)similarity.shape[0];
        var captions = (int)similarity.shape[1];
        if (captions != captionImageIndices.Count)
            throw new ArgumentException($"similarity has {captions} caption columns but {captionImageIndices.Count} caption image indices are given", nameof(similarity));
        var captionsOf = new List<int>[images];
        for (var i = 0; i < images; i++) captionsOf[i] = [];
        for (var t = 0; t < captions; t++)
        {
            var image = captionImageIndices[t];
            if (image < 0 || image >= images)
                throw new ArgumentException($"caption {t} belongs to image {image}, which is not below {images}", nameof(captionImageIndices));
            captionsOf[image].Add(t);
        }
        var orphan = Array.FindIndex(captionsOf, list => list.Count == 0);
        if (orphan >= 0)
            throw new ArgumentException($"image {orphan} has no caption, so image-to-text recall is undefined for it", nameof(captionImageIndices));

        // Image to text: an image's best-placed caption decides; under the tie rule that is its highest-scoring caption,
        // lowest index first, so one rank per image suffices.
        var imageRanks = new int[images];
        for (var i = 0; i < images; i++)
        {
            var row = values.AsSpan(i * captions, captions);
            var best = captionsOf[i][0];
            foreach (var t in captionsOf[i])
                if (row[t] > row[best]) best = t;
            imageRanks[i] = Ranking.RankOf(row, best);
        }

        // Text to image: rank each caption's own image within its column.
        var captionRanks = new int[captions];
        var column = new float[images];
        for (var t = 0; t < captions; t++)
        {
            for (var i = 0; i < images; i++) column[i] = values[i * captions + t];
            captionRanks[t] = Ranking.RankOf(column, captionImageIndices[t]);
        }

        return (imageRanks, captionRanks);
    }

    private static double Recall(int[] ranks, int k) => (double)ranks.Count(rank => rank < k) / ranks.Length;
}
