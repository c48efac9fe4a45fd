using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>How the cost of learning one concept grows with images per concept, steps, augmented copies and model
/// size. A step is measured on each model at a shape that fits in memory (few images and copies), its time divided
/// per image-copy, and the table extrapolates linearly: an inversion step's work is proportional to images × copies.
/// Beside it, a projection for a GPU from the FLOP counts alone (not a measurement): an H100 SXM at an assumed 40% of
/// its dense peak, 67 TFLOP/s fp32 (no TF32) and 989 TFLOP/s bf16.</summary>
internal static class ScalingBenchmark
{
    private const double GpuFp32 = 67e12, GpuBf16 = 989e12, GpuUtilisation = 0.4;

    private static readonly (int Images, int Copies, int Steps, string Note)[] Cases =
    [
        (10, 13, 5000, "library defaults"),
        (10, 1, 5000, "one copy per image, as the Knowledge Transfer script"),
        (1, 13, 5000, ""),
        (50, 13, 5000, ""),
        (10, 13, 1000, ""),
        (10, 4, 2000, ""),
    ];

    public static void Run(BenchArguments args, MachinePeak peak)
    {
        var presets = args.List("--scaling-presets", "ViT-B-32", "ViT-B-16", "ViT-L-14");
        var repeats = args.Int("--scaling-repeats", 1);
        Console.WriteLine($"\n## Measured steps for the extrapolation (fp32, median of {repeats} after 1 warm-up step)\n");
        Console.WriteLine("| model | workload | dtype | s/step | GFLOP/step | GFLOP/s | MFU | target |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        var measured = new List<(string Preset, ClipConfig Config, double PerImageCopy, double FineTuneStep)>();
        foreach (var preset in presets)
        {
            using var clip = RandomClip.Create(preset, ScalarType.Float32);
            var images = clip.Model.Config.Vision.NumPositions > 200 && clip.Model.Config.Vision.HiddenSize > 768 ? 1 : 10;
            var inversion = MfuBenchmark.Report(preset, new InversionLoop(clip, images, 1), ScalarType.Float32, repeats, peak, "");
            var fineTune = MfuBenchmark.Report(preset, new FineTuneLoop(clip, 4, 32), ScalarType.Float32, repeats, peak, "");
            measured.Add((preset, clip.Model.Config, inversion / images, fineTune));
        }

        Console.WriteLine("\n## Inversion time per concept: CPU extrapolated from the steps above; GPU projected from FLOPs\n");
        Console.WriteLine("| images | copies | steps | " + string.Join(" | ", measured.Select(m => $"{m.Preset} CPU | {m.Preset} H100 fp32 / bf16 (projection)")) + " | note |");
        Console.WriteLine("|---:|---:|---:|" + string.Concat(measured.Select(_ => "---:|---:|")) + "---|");
        foreach (var (images, copies, steps, note) in Cases)
        {
            var cells = measured.Select(m =>
            {
                var flops = steps * ClipFlops.InversionStep(m.Config, images, copies);
                return $"{Duration(steps * images * copies * m.PerImageCopy)} | " +
                       $"{Duration(flops / (GpuUtilisation * GpuFp32))} / {Duration(flops / (GpuUtilisation * GpuBf16))}";
            });
            Console.WriteLine($"| {images} | {copies} | {steps} | {string.Join(" | ", cells)} | {note} |");
        }
        Console.WriteLine("\nFine-tuning, per step of 4 images + 32 negatives (one epoch over 10 images is 3 steps): " +
                          string.Join("; ", measured.Select(m => $"{m.Preset} {m.FineTuneStep:F2} s on this CPU, " +
                                                                 $"{Duration(ClipFlops.FineTuneImageStep(m.Config, 4) / (GpuUtilisation * GpuFp32))} projected on an H100 (fp32)")) + ".");
    }

    private static string Duration(double seconds) => seconds switch
    {
        < 1 => $"{1000 * seconds:F0} ms",
        < 120 => $"{seconds:F1} s",
        < 7200 => $"{seconds / 60:F0} min",
        < 172800 => $"{seconds / 3600:F1} h",
        _ => $"{seconds / 86400:F1} d",
    };
}
