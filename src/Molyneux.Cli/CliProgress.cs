using Molyneux.Evaluation;
using Molyneux.KnowledgeTransfer;
using Molyneux.Pretraining;
using Spectre.Console;

namespace Molyneux.Cli;

/// <summary>Progress bars for long library calls, drawn only on an interactive terminal (not into pipes or logs), and
/// nowhere under --quiet (<see cref="CliContext.Quiet"/>).</summary>
public static class CliProgress
{
    public static T Run<T>(CliContext context, Func<IProgress<EvaluationProgress>?, T> work)
    {
        if (!context.Console.Profile.Capabilities.Interactive || context.Quiet) return work(null);
        return Bars(context).Start(progress =>
        {
            var tasks = new Dictionary<EvaluationStage, ProgressTask>();
            return work(new SynchronousProgress<EvaluationProgress>(report =>
            {
                if (!tasks.TryGetValue(report.Stage, out var task))
                    tasks[report.Stage] = task = progress.AddTask(report.Stage == EvaluationStage.EncodingTexts ? "encoding texts" : "encoding images", maxValue: report.Total);
                task.Value = report.Done;
            }));
        });
    }

    /// <summary>Pretraining progress: a line every 5% with loss and throughput (for logs as well as terminals).</summary>
    public static IProgress<PretrainProgress> Pretraining(CliContext context)
    {
        var line = EveryFivePercent(context);
        return new SynchronousProgress<PretrainProgress>(report =>
            line(report.Step, report.TotalSteps, $"loss {report.Loss:F4}, {report.ImagesPerSecond:F0} pairs/s, {report.Minutes:F1} min"));
    }

    /// <summary>Runs a long loop of steps: <paramref name="work"/> reports (done, total, detail) after each, drawn as a
    /// bar on an interactive terminal, else as a line every 5%.</summary>
    public static void Steps(CliContext context, string label, Action<Action<int, int, string>> work)
    {
        if (!context.Console.Profile.Capabilities.Interactive || context.Quiet)
        {
            work(EveryFivePercent(context));
            return;
        }
        Bars(context).Start(progress =>
        {
            var task = progress.AddTask(label);
            work((done, total, detail) =>
            {
                task.MaxValue = total;
                task.Value = done;
                task.Description = $"{label}: {Markup.Escape(detail)}";
            });
        });
    }

    /// <summary>Inversion progress as a <see cref="Steps"/> report: the latest cosine and the resolution.</summary>
    public static IProgress<InversionProgress> Inversion(Action<int, int, string> report) =>
        new SynchronousProgress<InversionProgress>(p => report(p.Latest.Step, p.Steps, $"cosine {p.Latest.Cosine:F3}, {p.Size} px"));

    private static Spectre.Console.Progress Bars(CliContext context) => context.Console.Progress().AutoClear(true).Columns(
        new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn());

    /// <summary>A line every 5 % for logs and pipes, with the time left at the phase's rate so far; no lines under --quiet.</summary>
    private static Action<int, int, string> EveryFivePercent(CliContext context)
    {
        if (context.Quiet) return (_, _, _) => { };
        var lastPercent = -5;
        var phase = System.Diagnostics.Stopwatch.StartNew();
        return (done, total, detail) =>
        {
            var percent = 100 * done / total;
            // A report below the last one starts a new phase (set-up encoding, then the steps).
            if (percent < lastPercent) phase.Restart();
            if (percent >= lastPercent && percent < lastPercent + 5 && done != total) return;
            lastPercent = percent;
            var left = done == 0 ? "" : $", {TimeSpan.FromSeconds(phase.Elapsed.TotalSeconds / done * (total - done)):h\\:mm\\:ss} left";
            context.Error.WriteLine($"step {done}/{total} ({percent}%), {detail}{left}");
        };
    }

    /// <summary>Reports on the calling thread (System.Progress would post to the thread pool and arrive late).</summary>
    public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
