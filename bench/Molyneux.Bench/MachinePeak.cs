using System.Diagnostics;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>This machine's matmul throughput in fp32 and bf16, measured in the same run as the workloads, the
/// denominator of their MFU: a square 2048³ product, large enough to reach libtorch's best GEMM rate.</summary>
internal sealed record MachinePeak(double Fp32, double Bf16)
{
    public double For(ScalarType dtype) => dtype == ScalarType.BFloat16 ? Bf16 : Fp32;

    public static MachinePeak Measure(int repeats)
    {
        var peak = new MachinePeak(Matmul(ScalarType.Float32, repeats), Matmul(ScalarType.BFloat16, repeats));
        Console.WriteLine($"matmul peak 2048³: fp32 {peak.Fp32 / 1e9:F1} GFLOP/s, bf16 {peak.Bf16 / 1e9:F1} GFLOP/s (median of {repeats} after 2 warm-up runs)");
        return peak;
    }

    private static double Matmul(ScalarType dtype, int repeats)
    {
        const int n = 2048;
        using var a = randn(n, n).to(dtype);
        using var b = randn(n, n).to(dtype);
        var times = Enumerable.Range(0, repeats + 2).Select(_ =>
        {
            var watch = Stopwatch.StartNew();
            using var product = a.matmul(b);
            return watch.Elapsed.TotalSeconds;
        }).Skip(2).ToList();
        return 2.0 * n * n * n / Statistics.Median(times);
    }
}
