using System.Diagnostics;
using Molyneux.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Measures this machine's matmul peak (fp32, bf16) and CLIP's image-encoding throughput against it (MFU).
/// Usage: dotnet run -c Release --project bench/Molyneux.Bench [-- --repeats N]; <c>-- --asif</c> runs <see cref="AsifBenchmark"/> instead.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--asif")) return AsifBenchmark.Run(args);
        var repeats = args.Length >= 2 && args[0] == "--repeats" ? int.Parse(args[1]) : 10;
        Console.WriteLine($"threads: {get_num_threads()}, cores: {Environment.ProcessorCount}, repeats: {repeats} (median after warm-up)");
        var peakFp32 = MatmulPeak(ScalarType.Float32, repeats);
        var peakBf16 = MatmulPeak(ScalarType.BFloat16, repeats);
        Console.WriteLine($"matmul peak 2048³ fp32: {peakFp32 / 1e9,8:F1} GFLOP/s");
        Console.WriteLine($"matmul peak 2048³ bf16: {peakBf16 / 1e9,8:F1} GFLOP/s");

        foreach (var preset in new[] { "ViT-B-32" })
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var config = ClipConfig.Preset(preset);
            using var model = new ClipModel(config);
            model.to(dtype).eval();
            const int batch = 32;
            using var pixels = randn(batch, 3, config.Vision.ImageSize, config.Vision.ImageSize).to(dtype);
            var seconds = Median(repeats, () =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                model.GetImageFeatures(pixels);
            });
            var flops = batch * ClipFlops.ImageEncoding(config);
            var peak = dtype == ScalarType.Float32 ? peakFp32 : peakBf16;
            Console.WriteLine($"{preset} image encoding, batch {batch}, {dtype}: {batch / seconds,7:F1} images/s, " +
                              $"{flops / seconds / 1e9,7:F1} GFLOP/s, MFU {100 * flops / seconds / peak,5:F1}% of the {dtype} matmul peak");
        }
        return 0;
    }

    private static double MatmulPeak(ScalarType dtype, int repeats)
    {
        const int n = 2048;
        using var a = randn(n, n).to(dtype);
        using var b = randn(n, n).to(dtype);
        var seconds = Median(repeats, () => { using var c = a.matmul(b); });
        return 2.0 * n * n * n / seconds;
    }

    /// <summary>Median wall time of <paramref name="repeats"/> runs after two warm-up runs.</summary>
    private static double Median(int repeats, Action action)
    {
        action();
        action();
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times[i] = watch.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
