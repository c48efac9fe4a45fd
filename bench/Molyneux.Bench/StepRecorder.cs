using System.Diagnostics;
using Molyneux.KnowledgeTransfer;
using TorchSharp;

namespace Molyneux.Bench;

/// <summary>Marks the end of each step of a loop, with the time, the process's private resident memory (and of it
/// the .NET heap's committed bytes, so native memory can be told apart) and the tensors TorchSharp counts alive on
/// this thread. The library's own loops report their steps through it
/// (<see cref="Inversion"/> and <see cref="FineTuner"/> report synchronously after each step), so a step is timed
/// from one report to the next on the library's real code path, setup before the first step excluded.</summary>
internal sealed class StepRecorder(bool trackMemory = false) : IProgress<InversionProgress>, IProgress<FineTuneProgress>
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<(double Seconds, double ResidentMegabytes, double ManagedMegabytes, long LiveTensors)> marks = [];

    public int Steps => marks.Count;

    public void Mark() => marks.Add((clock.Elapsed.TotalSeconds,
        trackMemory ? ProcessMemory.ResidentMegabytes().Anonymous : double.NaN,
        trackMemory ? GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0 : double.NaN,
        DisposeScopeManager.Statistics.ThreadTotalLiveCount));

    void IProgress<InversionProgress>.Report(InversionProgress value) => Mark();

    void IProgress<FineTuneProgress>.Report(FineTuneProgress value) => Mark();

    /// <summary>The median time of the steps after the first <paramref name="warmUp"/> (at least the first, whose
    /// interval would include the setup).</summary>
    public double MedianStepSeconds(int warmUp)
    {
        var steps = Enumerable.Range(Math.Max(1, warmUp), marks.Count - Math.Max(1, warmUp))
            .Select(i => marks[i].Seconds - marks[i - 1].Seconds).ToList();
        if (steps.Count == 0) throw new InvalidOperationException($"{marks.Count} steps recorded, none after {warmUp} warm-up steps");
        return Statistics.Median(steps);
    }

    /// <summary>Least-squares slopes against the step, over the steps after <paramref name="warmUp"/>, of private
    /// resident memory and of it what is not the .NET heap (native: libtorch's tensors and buffers): bytes a step
    /// leaves behind.</summary>
    public (double Resident, double Native) BytesPerStep(int warmUp) =>
        (Slope(warmUp, mark => mark.ResidentMegabytes), Slope(warmUp, mark => mark.ResidentMegabytes - mark.ManagedMegabytes));

    private double Slope(int warmUp, Func<(double Seconds, double ResidentMegabytes, double ManagedMegabytes, long LiveTensors), double> megabytes) =>
        Statistics.Slope(marks.Skip(warmUp).Select((mark, i) => ((double)i, megabytes(mark) * 1048576)).ToList());

    public (double First, double Last, double Peak) ResidentMegabytes(int warmUp) =>
        (marks[warmUp].ResidentMegabytes, marks[^1].ResidentMegabytes, marks.Skip(warmUp).Max(mark => mark.ResidentMegabytes));

    /// <summary>Live tensors at the end of the first step after the warm-up and the fewest and most at any later step
    /// end: a loop that leaks tensors counts more at every step.</summary>
    public (long First, long Min, long Max) LiveTensors(int warmUp) =>
        (marks[warmUp].LiveTensors, marks.Skip(warmUp).Min(mark => mark.LiveTensors), marks.Skip(warmUp).Max(mark => mark.LiveTensors));
}
