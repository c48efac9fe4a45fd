using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Worlds;

/// <summary>One scene: its image, the caption pretraining sees with it, and the attributes it was drawn from.</summary>
public sealed class ShapesSample
{
    internal ShapesSample(int index, int seed, ShapesAttributes attributes, ShapesConcept? concept, string caption, int imageSize, byte[] rgb)
    {
        Index = index;
        Seed = seed;
        Attributes = attributes;
        Concept = concept;
        Caption = caption;
        ImageSize = imageSize;
        this.rgb = rgb;
    }

    private readonly byte[] rgb;

    public int Index { get; }

    public int Seed { get; }

    public ShapesAttributes Attributes { get; }

    /// <summary>The concept of <see cref="ShapesConcepts.All"/> the scene shows, whether or not the caption names it.</summary>
    public ShapesConcept? Concept { get; }

    public string Caption { get; }

    public int ImageSize { get; }

    /// <summary>Its own caption and <paramref name="count"/> − 1 more the world's language could have said of it
    /// (other random phrasings of the same attributes, drawn from other streams than the scene's own), as COCO gives
    /// five captions per image: what CIDEr-D's consensus scores a generated caption against.</summary>
    public IReadOnlyList<string> References(int count = 5)
    {
        var a = Attributes;
        var spec = new ShapesSpec { Shape = a.Shape, Color = a.Color, Size = a.Size, Background = a.Background, Pattern = a.Pattern, Count = a.Count, Position = a.Position };
        return [Caption, .. Enumerable.Range(1, count - 1).Select(k => ShapesCaptions.Describe(spec, new SplitMix64(Seed ^ (0x51AB << k), Index)))];
    }

    /// <summary>The image as row-major RGB bytes. Samples keep bytes rather than tensors so that thousands of them
    /// hold no native memory; tensors are made when a batch is needed.</summary>
    public ReadOnlySpan<byte> Rgb => rgb;

    /// <summary>The image as float32 [3, S, S] in [0, 1] (byte / 255, so a PNG export reads back identically).</summary>
    public Tensor ToTensor()
    {
        using var batch = Stack([this]);
        return batch.squeeze(0);
    }

    /// <summary>The images of equally sized samples as one float32 [N, 3, S, S] batch.</summary>
    public static Tensor Stack(IReadOnlyList<ShapesSample> samples)
    {
        if (samples.Count == 0) throw new OptionException("no samples to stack");
        var size = samples[0].ImageSize;
        if (samples.Any(s => s.ImageSize != size)) throw new OptionException("samples of different image sizes cannot be stacked");
        var plane = size * size;
        var data = new float[samples.Count * 3 * plane];
        for (var n = 0; n < samples.Count; n++)
        {
            var rgb = samples[n].rgb;
            for (var p = 0; p < plane; p++)
            for (var c = 0; c < 3; c++)
                data[(n * 3 + c) * plane + p] = rgb[p * 3 + c] / 255f;
        }
        return tensor(data, [samples.Count, 3, size, size]);
    }

    internal void WritePng(string path) => PngPixels.WriteRgb(path, rgb, ImageSize, ImageSize);
}
