namespace Molyneux.Segmentation;

/// <summary>The mask made from a saliency map and the box prompts made from the mask.</summary>
public sealed record SaliencySegmentation(BinaryMask Mask, IReadOnlyList<PixelBox> Boxes);

/// <summary>
/// MedCLIP-SAMv2's post-processing of a saliency map: threshold or cluster it (<see cref="SaliencyThreshold"/>),
/// keep connected components (<see cref="ConnectedComponents"/>), and box what is kept for the segmenter.
/// <para>Boxes: the authors' <c>scoremap2bbox</c> draws one box around all external contours together (one per
/// contour with <c>--multicontour</c>), and the whole image when the mask is empty. Here there is one tight box per
/// kept component, which is the same single box for the default (the largest component) and their
/// <c>--multicontour</c> boxes otherwise; an empty mask gives the whole-image box, as theirs does, so a segmenter
/// still has a prompt. Their x + w is clipped to W − 1; these boxes keep the exclusive edge (see
/// <see cref="PixelBox"/>).</para>
/// </summary>
public static class SaliencyToMask
{
    /// <summary>Refuses invalid options with an <see cref="OptionException"/>.</summary>
    public static SaliencySegmentation Apply(SaliencyMap map, MaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Every method but the fixed level is unchanged by scaling; scaling first makes the fixed level meaningful.
        var normalized = map.Normalized();
        var foreground = options.Method switch
        {
            MaskMethod.Otsu => SaliencyThreshold.Above(normalized, SaliencyThreshold.Otsu(normalized)),
            MaskMethod.Quantile => SaliencyThreshold.Above(normalized, SaliencyThreshold.Quantile(normalized, options.Quantile)),
            MaskMethod.KMeans => SaliencyThreshold.KMeans(normalized, options.Clusters),
            MaskMethod.Fixed => SaliencyThreshold.Above(normalized, options.Threshold),
            _ => throw new OptionException($"mask method {options.Method}: not supported"),
        };

        var components = ConnectedComponents.Label(foreground, options.Connectivity);
        var largestKept = components.Sizes.Where(size => size >= options.MinimumPixels).DefaultIfEmpty(0).Max();
        bool Keep(int label)
        {
            var size = components.Sizes[label - 1];
            return size >= options.MinimumPixels && size > 0 &&
                   (options.Components == ComponentSelection.AllAboveSize || size == largestKept);
        }

        var mask = components.Select(Keep);
        var boxes = Enumerable.Range(1, components.Count).Where(Keep).Select(label => components.Boxes[label - 1]).ToList();
        if (boxes.Count == 0) boxes.Add(PixelBox.Whole(map.Width, map.Height));
        return new SaliencySegmentation(mask, boxes);
    }
}
