using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Speed and memory of Molyneux's CLIP workloads on this machine; docs/performance.md shows the results and
/// explains each table. Usage: <c>dotnet run -c Release --project bench/Molyneux.Bench -- MODE... [settings]</c>, modes:
/// <c>--all</c> (all of the following), <c>--mfu</c> (<see cref="MfuBenchmark"/>), <c>--overhead</c>
/// (<see cref="OverheadBenchmark"/>), <c>--scaling</c> (<see cref="ScalingBenchmark"/>), <c>--memory</c>
/// (<see cref="MemoryBenchmark"/>); <c>--asif</c> runs <see cref="AsifBenchmark"/> instead, <c>--encoders</c>
/// <see cref="EncoderBenchmark"/> (the built-in ResNet18 and MiniLM against ONNX Runtime), <c>--pipeline</c>
/// <see cref="ImagePipelineBenchmark"/> (encoding image files with and without background decoding). Settings: <c>--repeats N</c>
/// (3), <c>--presets A,B</c>, <c>--scaling-presets A,B,C</c>, <c>--scaling-repeats N</c> (1), <c>--memory-steps N</c>
/// (1000), <c>--memory-preset P</c> (molyneux-micro), <c>--memory-loops image,text,inversion,finetune</c>.</summary>
public static class Program
{
    public static int Main(string[] rawArgs)
    {
        var args = new BenchArguments(rawArgs);
        if (args.Has("--asif")) return AsifBenchmark.Run(args);
        if (args.Has("--encoders"))
        {
            if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null) set_num_threads(Environment.ProcessorCount);
            EncoderBenchmark.Run(args);
            return 0;
        }
        if (args.Has("--pipeline"))
        {
            if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null) set_num_threads(Environment.ProcessorCount);
            ImagePipelineBenchmark.Run(args);
            return 0;
        }
        var all = args.Has("--all");
        if (!all && !new[] { "--mfu", "--overhead", "--scaling", "--memory" }.Any(args.Has))
        {
            Console.Error.WriteLine("give a mode: --all, --mfu, --overhead, --scaling, --memory, --asif, --encoders or --pipeline (see docs/performance.md)");
            return 2;
        }
        // libtorch's default is the physical core count; an explicit OMP_NUM_THREADS (a shared machine) wins.
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null) set_num_threads(Environment.ProcessorCount);
        Console.WriteLine($"threads: {get_num_threads()}, cores: {Environment.ProcessorCount}, load average at start: {LoadAverage()}");
        var peak = MachinePeak.Measure(args.Int("--repeats", 3));
        if (all || args.Has("--mfu")) MfuBenchmark.Run(args, peak);
        if (all || args.Has("--overhead")) OverheadBenchmark.Run(args);
        if (all || args.Has("--scaling")) ScalingBenchmark.Run(args, peak);
        if (all || args.Has("--memory")) MemoryBenchmark.Run(args);
        Console.WriteLine($"\nload average at the end: {LoadAverage()}");
        return 0;
    }

    /// <summary>The 1-minute load average: other work on the machine lowers every number here.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
