using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Whether the four loops hold native memory flat: each runs many steps (1 000 by default) on a small
/// preset (molyneux-micro by default, so all four finish in minutes), recording after every step the private resident
/// memory and the tensors TorchSharp counts alive. A loop that leaks shows a positive slope of memory against the
/// step (least squares over the steps after the warm-up) and a growing count of live tensors.</summary>
internal static class MemoryBenchmark
{
    public static void Run(BenchArguments args)
    {
        var preset = args.Value("--memory-preset") ?? "molyneux-micro";
        var steps = args.Int("--memory-steps", 1000);
        var warmUp = steps / 10;
        Console.WriteLine($"\n## Memory over {steps} steps ({preset}, fp32; slope fitted over steps {warmUp + 1}–{steps})\n");
        Console.WriteLine("| loop | ms/step | private RSS after warm-up → end (peak), MB | RSS slope, bytes/step (of it native) | live tensors at step ends (first / min / max) | tensors created / disposed in the loop | live after − before |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        using var clip = RandomClip.Create(preset, ScalarType.Float32);
        var loops = new Dictionary<string, Func<IStepLoop>>
        {
            ["image"] = () => EncodingLoop.Images(clip, 32),
            ["text"] = () => EncodingLoop.Texts(clip, 256),
            ["inversion"] = () => new InversionLoop(clip, 10, 13),
            ["finetune"] = () => new FineTuneLoop(clip, 4, 32),
        };
        foreach (var loop in args.List("--memory-loops", [.. loops.Keys]).Select(name => loops[name]()))
        {
            GC.Collect();
            var statistics = DisposeScopeManager.Statistics;
            statistics.Reset();
            var liveBefore = statistics.ThreadTotalLiveCount;
            var recorder = new StepRecorder(trackMemory: true);
            loop.Run(steps, recorder);
            var (first, last, peak) = recorder.ResidentMegabytes(warmUp);
            var (live, min, max) = recorder.LiveTensors(warmUp);
            var slopes = recorder.BytesPerStep(warmUp);
            var created = statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
            var disposed = statistics.DisposedInScopeCount + statistics.DisposedOutsideScopeCount;
            Console.WriteLine($"| {loop.Name} | {1000 * recorder.MedianStepSeconds(warmUp):F1} | {first:F0} → {last:F0} ({peak:F0}) | " +
                              $"{slopes.Resident:F0} ({slopes.Native:F0}) | {live} / {min} / {max} | {created:N0} / {disposed:N0} | " +
                              $"{statistics.ThreadTotalLiveCount - liveBefore} |");
        }
    }
}
