using System.Diagnostics;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>This machine's matmul throughput in fp32 and bf16, measured in the same run as the workloads, the
/// denominator of their MFU: the better of a square 2048³ product and a product shaped like a ViT-B MLP over 6 400
/// tokens ([6400, 768] × [768, 3072]), since libtorch's kernels are not fastest at the same shape in both dtypes.</summary>
internal sealed record MachinePeak(double Fp32, double Bf16)
{
    private static readonly (long Rows, long Inner, long Columns)[] Shapes = [(2048, 2048, 2048), (6400, 768, 3072)];

    public double For(ScalarType dtype) => dtype == ScalarType.BFloat16 ? Bf16 : Fp32;

    public static MachinePeak Measure(int repeats)
    {
        var peak = new MachinePeak(Shapes.Max(shape => Matmul(shape, ScalarType.Float32, repeats)),
            Shapes.Max(shape => Matmul(shape, ScalarType.BFloat16, repeats)));
        Console.WriteLine($"matmul peak: fp32 {peak.Fp32 / 1e9:F1} GFLOP/s, bf16 {peak.Bf16 / 1e9:F1} GFLOP/s " +
                          $"(best of 2048³ and 6400×768×3072, median of {repeats} after 2 warm-up runs)");
        return peak;
    }

    private static double Matmul((long Rows, long Inner, long Columns) shape, ScalarType dtype, int repeats)
    {
        using var a = randn(shape.Rows, shape.Inner).to(dtype);
        using var b = randn(shape.Inner, shape.Columns).to(dtype);
        var times = Enumerable.Range(0, repeats + 2).Select(_ =>
        {
            var watch = Stopwatch.StartNew();
            using var product = a.matmul(b);
            return watch.Elapsed.TotalSeconds;
        }).Skip(2).ToList();
        return 2.0 * shape.Rows * shape.Inner * shape.Columns / Statistics.Median(times);
    }
}
