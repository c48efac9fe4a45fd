using Molyneux.Evaluation;

namespace Molyneux.Asif;

/// <summary>One anchor: an image and a caption of it. ASIF's space has one coordinate per anchor.</summary>
public sealed record AnchorPair(string ImagePath, string Caption)
{
    /// <summary>The pairs of a captions file (the retrieval JSONL format, <c>{"image": …, "captions": […]}</c>): one
    /// anchor per caption, in file order, so an image with three captions gives three anchors (and is encoded once).</summary>
    public static IReadOnlyList<AnchorPair> FromCaptions(CaptionsDataset dataset) =>
        dataset.Images.SelectMany(image => image.Captions.Select(caption => new AnchorPair(image.ImagePath, caption))).ToList();
}
