using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>How the token states of an image tower lie over the image: <see cref="Prefix"/> leading tokens that are
/// no image position (a ViT's class token), then <see cref="Height"/> × <see cref="Width"/> positions row by row.</summary>
public readonly record struct TokenGrid(int Prefix, int Height, int Width)
{
    public int Positions => Height * Width;
}

/// <summary>An image tower cut in two after one of its layers: the states there as tokens [N, T, D] over a
/// <see cref="TokenGrid"/>, and the rest of the tower from those states to the image features. Attribution methods
/// work on this cut: M2IB puts its bottleneck between the halves, Grad-CAM reads the states and their gradient.
/// A ViT's states are its tokens; a CNN's feature map [N, C, h, w] is read as h·w tokens of C channels.</summary>
public interface ISplitImageTower
{
    /// <summary>The layers the tower can be cut after: 1 to this (a ViT's encoder layers, a ResNet's stages).</summary>
    int SplitLayerCount { get; }

    /// <summary>The layer attribution uses when none is asked for: three quarters of the way up, as M2IB's layer 9 of
    /// ViT-B's 12.</summary>
    int DefaultSplitLayer => Math.Max(1, (int)Math.Round(SplitLayerCount * 0.75));

    /// <summary>The states after layer <paramref name="layer"/> (1-based) of model inputs [N, 3, S, S], as tokens
    /// [N, T, D], and the grid they lie on.</summary>
    (Tensor Tokens, TokenGrid Grid) ImageTokensAfter(Tensor pixelValues, int layer);

    /// <summary>Unnormalised image features [N, EmbeddingSize] from states after layer <paramref name="layer"/>, as
    /// <see cref="ImageTokensAfter"/> gives them (or changed, with gradients where enabled).</summary>
    Tensor ImageFeaturesFromTokens(Tensor tokens, TokenGrid grid, int layer);
}
