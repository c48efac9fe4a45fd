using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>What the library's C# adds over the kernels: the same step through the library (modules, hooks, dispose
/// scopes, options, progress) and as a bare run of the same libtorch calls (<see cref="BareInversionLoop"/>,
/// <see cref="BareImageEncodingLoop"/>), timed alternately, library then bare, twice, keeping each one's faster median.
/// On ViT-B/32 with one augmented copy per image (a step of a second, not ten) and on molyneux-tiny, whose steps are
/// milliseconds, so that a fixed cost per call shows.</summary>
internal static class OverheadBenchmark
{
    public static void Run(BenchArguments args)
    {
        var repeats = args.Int("--repeats", 3);
        Console.WriteLine($"\n## C# overhead over bare libtorch calls (fp32; median of {repeats} steps, tiny: 20× as many)\n");
        Console.WriteLine("| model | step | library s/step | bare s/step | overhead |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        foreach (var (preset, copies, steps) in new[] { ("ViT-B-32", 1, repeats), ("molyneux-tiny", 13, 20 * repeats) })
        {
            using var clip = RandomClip.Create(preset, ScalarType.Float32);
            Compare(preset, new InversionLoop(clip, 10, copies), new BareInversionLoop(clip, 10, copies), steps);
            Compare(preset, EncodingLoop.Images(clip, 32), new BareImageEncodingLoop(clip, 32), steps);
        }
    }

    private static void Compare(string preset, IStepLoop library, IStepLoop bare, int steps)
    {
        double Time(IStepLoop loop)
        {
            var recorder = new StepRecorder();
            loop.Run(1 + steps, recorder);
            return recorder.MedianStepSeconds(warmUp: 1);
        }
        var (libraryTimes, bareTimes) = (new List<double>(), new List<double>());
        for (var round = 0; round < 2; round++)
        {
            libraryTimes.Add(Time(library));
            bareTimes.Add(Time(bare));
        }
        var (librarySeconds, bareSeconds) = (libraryTimes.Min(), bareTimes.Min());
        Console.WriteLine($"| {preset} | {library.Name} | {librarySeconds:F4} | {bareSeconds:F4} | {100 * (librarySeconds / bareSeconds - 1):+0.0;-0.0}% |");
    }
}
