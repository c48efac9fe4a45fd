using System.Diagnostics;
using Molyneux.Imaging;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>CLIP's <c>EncodeImages</c> on JPEG files, from decoding to features, with the background image pipeline
/// (<see cref="ImagePipeline.DecodeWorkers"/> = one per core) and without it (0: each batch decoded on the caller's
/// thread before it is encoded), in one run on the same files. Prints images per second and the ratio pipeline /
/// sequential (above 1: the pipeline is faster). The files are photo-sized JPEGs of smooth colour and noise, written
/// to a temporary folder first, so decoding and resizing cost what they cost on real photos. On a CPU the encoder and
/// the decoders share the cores, so the gain is largest with a GPU or a small model. Settings:
/// <c>--pipeline-preset P</c> (ViT-B-32), <c>--images N</c> (64), <c>--image-width N</c> (800, height 3/4 of it),
/// <c>--repeats N</c> (3, the median is kept).</summary>
internal static class ImagePipelineBenchmark
{
    public static void Run(BenchArguments args)
    {
        var (preset, count, width, repeats) =
            (args.Value("--pipeline-preset") ?? "ViT-B-32", args.Int("--images", 64), args.Int("--image-width", 800), args.Int("--repeats", 3));
        var folder = Path.Combine(Path.GetTempPath(), "molyneux-bench-pipeline-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var previous = ImagePipeline.DecodeWorkers;
        try
        {
            var files = WriteJpegs(folder, count, width, width * 3 / 4);
            using var clip = RandomClip.Create(preset, ScalarType.Float32);
            double ImagesPerSecond(int workers)
            {
                ImagePipeline.DecodeWorkers = workers;
                return count / Statistics.MedianSeconds(repeats, () => clip.EncodeImages(files).Dispose());
            }
            var sequential = ImagesPerSecond(0);
            var pipelined = ImagesPerSecond(Environment.ProcessorCount);

            Console.WriteLine($"\nimage pipeline: {preset}, {count} JPEGs of {width}×{width * 3 / 4}, batch {clip.ImageBatchSize}, " +
                              $"{get_num_threads()} libtorch threads, median of {repeats}");
            Console.WriteLine("| decode workers | images/s |");
            Console.WriteLine("|---|---:|");
            Console.WriteLine($"| 0 (sequential) | {sequential:F1} |");
            Console.WriteLine($"| {Environment.ProcessorCount} (pipeline) | {pipelined:F1} |");
            Console.WriteLine($"ratio pipeline / sequential: {pipelined / sequential:F2}");
        }
        finally
        {
            ImagePipeline.DecodeWorkers = previous;
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>JPEGs (quality 90) of a colour gradient under seeded noise: smooth enough to compress like a photo,
    /// noisy enough that decoding does real work.</summary>
    private static List<string> WriteJpegs(string folder, int count, int width, int height)
    {
        var random = new Random(0);
        var files = new List<string>(count);
        var pixels = new byte[width * height * 4];
        for (var i = 0; i < count; i++)
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var at = (y * width + x) * 4;
                    pixels[at] = (byte)Math.Clamp(255 * x / width + random.Next(-20, 21), 0, 255);
                    pixels[at + 1] = (byte)Math.Clamp(255 * y / height + random.Next(-20, 21), 0, 255);
                    pixels[at + 2] = (byte)Math.Clamp(i * 37 % 256 + random.Next(-20, 21), 0, 255);
                    pixels[at + 3] = 255;
                }
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            using var image = SKImage.FromBitmap(bitmap);
            using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 90);
            var path = Path.Combine(folder, $"photo{i:D4}.jpg");
            File.WriteAllBytes(path, jpeg.ToArray());
            files.Add(path);
        }
        return files;
    }
}
