using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>The scaffold every training loop of Molyneux shares (inversion, fine-tuning, pretraining, alignment, ASIF's
/// encoders), so that each keeps only its math: steps from where a saved state left off, each in a dispose scope of
/// its own; the step's numbers checked finite before its update is applied, so that the parameters and any saved
/// state stay the last finite ones, and a <see cref="DivergenceException"/> naming the task, the step and the last
/// good state otherwise; the state saved when due (every so many steps, or minutes) but never after the last step;
/// cancellation between steps, optionally saving first so that a resumed run continues from there.</summary>
/// <param name="task">What diverges, in messages ("inversion", "fine-tuning").</param>
/// <param name="totalSteps">Steps of the whole run, a resumed one included.</param>
public sealed class StepLoop(string task, int totalSteps)
{
    /// <summary>Save the state after every this many steps; 0: not by step count.</summary>
    public int SaveEvery { get; init; }

    /// <summary>Save the state when this much time has passed since the loop started or last saved; null: not by time.</summary>
    public TimeSpan? SaveInterval { get; init; }

    /// <summary>Save the state when cancellation is asked for, before <see cref="OperationCanceledException"/>.</summary>
    public bool SaveWhenCancelled { get; init; }

    /// <summary>Where the saved state lives (a file or a folder), named in the divergence message once it exists.</summary>
    public string? StatePath { get; init; }

    /// <summary>What to do about a divergence, appended to its message.</summary>
    public string? Advice { get; init; }

    public int TotalSteps => totalSteps;

    /// <summary>Runs steps <paramref name="firstStep"/> to <see cref="TotalSteps"/> − 1.</summary>
    /// <param name="firstStep">0, or the steps a resumed state had done.</param>
    /// <param name="step">The math of step i (0-based); it calls <see cref="RequireFinite(int, Tensor, string)"/> before
    /// applying its update. Tensors it makes are freed after it unless it moves them out of the step's scope.</param>
    /// <param name="save">Writes the state after <c>done</c> steps; null: the loop keeps none.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    public void Run(int firstStep, Action<int> step, Action<int>? save = null, CancellationToken cancellationToken = default)
    {
        var sinceSave = System.Diagnostics.Stopwatch.StartNew();
        for (var i = firstStep; i < totalSteps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var done = i + 1;
            using (NewDisposeScope())
            {
                step(i);
                if (save is null || done == totalSteps) continue;
                var cancelled = SaveWhenCancelled && cancellationToken.IsCancellationRequested;
                var due = (SaveEvery > 0 && done % SaveEvery == 0) || (SaveInterval is { } interval && sinceSave.Elapsed >= interval);
                if (!due && !cancelled) continue;
                save(done);
                sinceSave.Restart();
            }
        }
    }

    /// <summary>Throws this loop's <see cref="DivergenceException"/> unless every element of <paramref name="finite"/>
    /// (a boolean tensor) is true.</summary>
    /// <param name="finite">Whether each checked number is finite (<c>isfinite</c>), of any shape.</param>
    /// <param name="step">The step being run (0-based).</param>
    /// <param name="what">What must be finite, for the message ("the loss or its gradient").</param>
    public void RequireFinite(int step, Tensor finite, string what)
    {
        if (!finite.all().item<bool>()) throw Diverged(step, $"{what} is not finite");
    }

    /// <summary>The same check for a number already on the CPU (a loss read with <c>item</c>).</summary>
    public void RequireFinite(int step, double value, string what)
    {
        if (!double.IsFinite(value)) throw Diverged(step, $"{what} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    private DivergenceException Diverged(int step, string problem) =>
        new($"{task} diverged at step {step + 1}: {problem}" + (StatePath is not null && Path.Exists(StatePath) ? $"; the last good state is {StatePath}" : "") +
            (Advice is null ? "" : $" ({Advice})"));
}
