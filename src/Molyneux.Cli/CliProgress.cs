using Molyneux.Evaluation;
using Molyneux.Pretraining;
using Spectre.Console;

namespace Molyneux.Cli;

/// <summary>Progress bars for long library calls, drawn only on an interactive terminal (not into pipes or logs).</summary>
public static class CliProgress
{
    public static T Run<T>(CliContext context, Func<IProgress<EvaluationProgress>?, T> work)
    {
        if (!context.Console.Profile.Capabilities.Interactive) return work(null);
        return context.Console.Progress().AutoClear(true).Columns(
                new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(progress =>
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

    /// <summary>Pretraining progress: a bar with loss and throughput on a terminal, else a line every 5% (for logs).</summary>
    public static IProgress<PretrainProgress> Pretraining(CliContext context)
    {
        var lastPercent = -5;
        return new SynchronousProgress<PretrainProgress>(report =>
        {
            var percent = 100 * report.Step / report.TotalSteps;
            if (percent < lastPercent + 5 && report.Step != report.TotalSteps) return;
            lastPercent = percent;
            context.Error.WriteLine($"step {report.Step}/{report.TotalSteps} ({percent}%), loss {report.Loss:F4}, " +
                                    $"{report.ImagesPerSecond:F0} pairs/s, {report.Minutes:F1} min");
        });
    }

    /// <summary>Reports on the calling thread (System.Progress would post to the thread pool and arrive late).</summary>
    public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
