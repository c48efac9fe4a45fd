namespace Molyneux.Bench;

/// <summary>One of the measured loops: a step of it costs <see cref="FlopsPerStep"/> model FLOPs
/// (<see cref="Modeling.ClipFlops"/>), and <see cref="Run"/> runs it for a number of steps, marking each on a recorder.</summary>
internal interface IStepLoop
{
    /// <summary>What one step does, e.g. "inversion step, 10 images × 13 copies".</summary>
    string Name { get; }

    double FlopsPerStep { get; }

    void Run(int steps, StepRecorder recorder);
}
