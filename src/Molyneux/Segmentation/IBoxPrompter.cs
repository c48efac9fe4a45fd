namespace Molyneux.Segmentation;

/// <summary>The step after the saliency mask in MedCLIP-SAMv2: a promptable segmenter (SAM) gets the image and box
/// prompts made from the mask and returns the final mask. This is where SAM plugs in once its weights can be loaded;
/// until then <see cref="BoxClippingPrompter"/> stands in.</summary>
public interface IBoxPrompter
{
    /// <summary>Describes the prompter for reports: "sam (vit_b)", "proposal clipped to boxes".</summary>
    string Description { get; }

    /// <summary>The final mask for an image given as row-major RGB bytes (<paramref name="width"/> ×
    /// <paramref name="height"/> × 3), the box prompts and the saliency mask they were made from.</summary>
    BinaryMask Segment(ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyList<PixelBox> boxes, BinaryMask proposal);
}

/// <summary>The prompter without a segmentation model: the proposal itself, restricted to the union of the boxes.
/// With boxes made from the proposal's own components this returns the proposal unchanged, so scores measured
/// through it are the saliency post-processing's alone (the paper's "without SAM" ablation).</summary>
public sealed class BoxClippingPrompter : IBoxPrompter
{
    public string Description => "proposal clipped to boxes";

    public BinaryMask Segment(ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyList<PixelBox> boxes, BinaryMask proposal)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(proposal);
        if (proposal.Width != width || proposal.Height != height)
            throw new ArgumentException($"the proposal mask is {proposal.Describe()}, the image {width}×{height}", nameof(proposal));
        if (!rgb.IsEmpty && rgb.Length != width * height * 3)
            throw new ArgumentException($"a {width}×{height} RGB image has {width * height * 3} bytes, got {rgb.Length}", nameof(rgb));

        var result = new BinaryMask(width, height);
        foreach (var box in boxes)
            for (var y = Math.Max(box.Top, 0); y < Math.Min(box.Bottom, height); y++)
            for (var x = Math.Max(box.Left, 0); x < Math.Min(box.Right, width); x++)
                if (proposal[x, y]) result[x, y] = true;
        return result;
    }
}
