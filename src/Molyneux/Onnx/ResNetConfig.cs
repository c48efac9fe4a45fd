namespace Molyneux.Onnx;

/// <summary>The shape of a torchvision ResNet built of BasicBlocks (torchvision's ResNet18 has [2, 2, 2, 2] blocks per
/// stage, ResNet34 [3, 4, 6, 3]; ML.NET's CNTK "ResNet18" has [2, 2, 2, 3]): a 64-wide stem, four stages of widths 64,
/// 128, 256 and 512, the last three starting with a stride-2 block. Only the pooled features are modelled; an ImageNet
/// classifier (fc) is not part of the tower.</summary>
public sealed record ResNetConfig(IReadOnlyList<int> Layers, double BatchNormEps = 1e-5)
{
    public const int StemWidth = 64;

    /// <summary>The width of stage <paramref name="stage"/> (0 to 3).</summary>
    public static int StageWidth(int stage) => StemWidth << stage;

    /// <summary>The width of the pooled features: the last stage's.</summary>
    public int FeatureWidth => StageWidth(Layers.Count - 1);

    /// <summary>Each stage but the first halves the feature map, after the stem's /4: a side of 224 ends at 7.</summary>
    public const int Downsampling = 32;

    /// <summary>Throws <see cref="CheckpointException"/> naming <paramref name="source"/> when the shape is not a ResNet's.</summary>
    public void Validate(string source)
    {
        if (Layers.Count != 4 || Layers.Any(count => count < 1))
            throw new CheckpointException($"{source}: a ResNet has four stages of at least one block, found [{string.Join(", ", Layers)}]");
        if (!(BatchNormEps > 0))
            throw new CheckpointException($"{source}: BatchNorm ε must be positive, found {BatchNormEps}");
    }
}
