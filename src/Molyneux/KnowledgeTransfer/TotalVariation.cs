using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Which total-variation penalty <see cref="TotalVariation"/> computes.</summary>
public enum TotalVariationForm
{
    /// <summary>Kazemi et al., "What do we learn from inverting CLIP models?" (2024), the form both their code
    /// (hamidkazemi22/CLIPInversion, helpers/augmentations.py, <c>TotalVariation(p=2)</c>) and the Knowledge Transfer
    /// authors' inversion code (carloalbertobarbano/MedCLIP-SAMv2, helpers/transforms.py) use: for each channel, the
    /// L2 norm (not squared) of each of four difference images (horizontal, vertical and the two diagonals), the four
    /// norms summed, then averaged over channels. The reference averages over the batch too; here each image keeps
    /// its own value, and their mean is the reference's.</summary>
    Kazemi,

    /// <summary>The textbook anisotropic form Σ |x(i, j+1) − x(i, j)| + |x(i+1, j) − x(i, j)| over every channel and
    /// pixel. It grows with the pixel count where <see cref="Kazemi"/> grows with the side, so it needs a far smaller
    /// weight than the reference's α = 0.005.</summary>
    Anisotropic,
}

/// <summary>The smoothness prior R_TV of the inversion objective (Eq. 3 of Barbano et al., 2024): it penalises
/// differences between neighbouring pixels, which keeps the optimised images from turning into high-frequency
/// adversarial noise.</summary>
public static class TotalVariation
{
    /// <summary>TV of each image in a batch [N, C, H, W]: returns [N], differentiable.</summary>
    public static Tensor PerImage(Tensor images, TotalVariationForm form = TotalVariationForm.Kazemi)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"expected images [N, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        using var scope = NewDisposeScope();
        var (height, width) = (images.shape[2], images.shape[3]);
        // The (H−1)×(W−1) block starting at (row, column); two of them, offset by one pixel, give a diagonal difference.
        Tensor Window(long row, long column) => images.narrow(2, row, height - 1).narrow(3, column, width - 1);
        var horizontal = images.narrow(3, 1, width - 1) - images.narrow(3, 0, width - 1);
        var vertical = images.narrow(2, 1, height - 1) - images.narrow(2, 0, height - 1);
        var total = form switch
        {
            TotalVariationForm.Kazemi => ChannelNorms(horizontal).Plus(ChannelNorms(vertical))
                                          .Plus(ChannelNorms(Window(1, 1) - Window(0, 0)))
                                          .Plus(ChannelNorms(Window(1, 0) - Window(0, 1))).mean([1]),
            TotalVariationForm.Anisotropic => horizontal.abs().sum([1, 2, 3]).Plus(vertical.abs().sum([1, 2, 3])),
            _ => throw new ArgumentOutOfRangeException(nameof(form), form, null),
        };
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>‖difference‖₂ over the pixels of each image and channel: [N, C].</summary>
    private static Tensor ChannelNorms(Tensor difference) => linalg.vector_norm(difference, 2, [2, 3]);
}
