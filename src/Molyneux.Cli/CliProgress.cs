using Molyneux.Evaluation;
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

    /// <summary>Reports on the calling thread (System.Progress would post to the thread pool and arrive late).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
