using Molyneux.Runtime;
using Molyneux.Modeling;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

/// <summary>Image vector = mean (R, G, B) of the image in [0, 1], so the right answer is known from the colours the test
/// painted. Counts what it encodes, to observe the cache.</summary>
internal sealed class MeanColourImageEncoder(string identity = "fake-image-encoder") : IImageEncoder
{
    public string Identity { get; } = identity;

    public int EmbeddingSize => 3;

    public ComputeDevice Device => ComputeDevice.Cpu;

    public int Calls { get; private set; }

    public List<string> Encoded { get; } = [];

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null)
    {
        Calls++;
        Encoded.AddRange(imagePaths);
        var values = new float[imagePaths.Count * 3];
        for (var n = 0; n < imagePaths.Count; n++)
        {
            using var bitmap = SKBitmap.Decode(imagePaths[n]);
            double r = 0, g = 0, b = 0;
            for (var y = 0; y < bitmap.Height; y++)
                for (var x = 0; x < bitmap.Width; x++)
                {
                    var pixel = bitmap.GetPixel(x, y);
                    r += pixel.Red; g += pixel.Green; b += pixel.Blue;
                }
            var pixels = 255.0 * bitmap.Width * bitmap.Height;
            values[3 * n] = (float)(r / pixels);
            values[3 * n + 1] = (float)(g / pixels);
            values[3 * n + 2] = (float)(b / pixels);
        }
        return tensor(values, [imagePaths.Count, 3]);
    }

    /// <summary>Writes a small PNG of one colour.</summary>
    public static string WritePng(string path, byte red, byte green, byte blue)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(4, 4);
        bitmap.Erase(new SKColor(red, green, blue));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}

/// <summary>Text vector = sum of the table's vectors of the text's words (lower case, split on anything but
/// letters); unknown words add nothing. Records every text it encodes.</summary>
internal sealed class WordTableTextEncoder(IReadOnlyDictionary<string, float[]> table, string identity = "fake-text-encoder") : ITextEncoder
{
    public string Identity { get; } = identity;

    public int EmbeddingSize { get; } = table.Values.First().Length;

    public ComputeDevice Device => ComputeDevice.Cpu;

    public int Calls { get; private set; }

    public List<string> Encoded { get; } = [];

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null)
    {
        Calls++;
        Encoded.AddRange(texts);
        var values = texts.SelectMany(text => Embed(table, text)).ToArray();
        return tensor(values, [texts.Count, EmbeddingSize]);
    }

    public static float[] Embed(IReadOnlyDictionary<string, float[]> table, string text)
    {
        var size = table.Values.First().Length;
        var sum = new float[size];
        foreach (var word in Words(text))
            if (table.TryGetValue(word, out var vector))
                for (var e = 0; e < size; e++) sum[e] += vector[e];
        return sum;
    }

    private static IEnumerable<string> Words(string text) =>
        text.ToLowerInvariant().Split(text.Where(c => !char.IsLetter(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries);
}
