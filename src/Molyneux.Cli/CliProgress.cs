using Molyneux.Alignment;
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

    /// <summary>Alignment progress as a line every 5% (for the default model's alignment when it is built without its
    /// shipped projections, which starts inside other commands before their own bars).</summary>
    public static IProgress<AlignProgress> Alignment(CliContext context) => Alignment(context, EveryFivePercent(context));

    /// <summary>Alignment progress as a <see cref="Steps"/> report: set-up stages as lines, then the encoding counts, then
    /// each step's loss.</summary>
    public static IProgress<AlignProgress> Alignment(CliContext context, Action<int, int, string> report) =>
        new SynchronousProgress<AlignProgress>(p =>
        {
            if (p.Stage is not null) context.Info.WriteLine(p.Stage);
            else if (p.Encoded is var (done, total)) report(done, total, "encoded");
            else report(p.Step, p.TotalSteps, $"loss {p.Loss:F4}");
        });

    /// <summary>Pretraining progress as a <see cref="Steps"/> report: the loss and the throughput.</summary>
    public static IProgress<PretrainProgress> Pretraining(Action<int, int, string> report) =>
        new SynchronousProgress<PretrainProgress>(p => report(p.Step, p.TotalSteps, $"loss {p.Loss:F4}, {p.ImagesPerSecond:F0} pairs/s"));

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
            var bar = new StageBars(context, progress, printStages: false);
            bar.Begin(label);
            work(bar.Step);
        });
    }

    /// <summary>What a job of several stages reports: a stage begins (and the one before ends), then its steps.</summary>
    public interface IStageReport
    {
        void Begin(string stage);

        void Step(int done, int total, string detail);
    }

    /// <summary>Runs a job of several stages (learn: measuring, inverting, then each trial's fine-tuning): on an
    /// interactive terminal one bar per stage with its own time left, a finished stage's bar replaced by the next;
    /// in logs and pipes a line when a stage begins and a line every 5 % of its steps.</summary>
    public static void Stages(CliContext context, Action<IStageReport> work)
    {
        if (!context.Console.Profile.Capabilities.Interactive || context.Quiet)
        {
            work(new StageLines(context));
            return;
        }
        Bars(context).HideCompleted(true).Start(progress => work(new StageBars(context, progress, printStages: true)));
    }

    /// <param name="printStages">Also print each stage as a line above the bars, so the finished ones stay readable.</param>
    private sealed class StageBars(CliContext context, ProgressContext progress, bool printStages) : IStageReport
    {
        private ProgressTask? current;
        private string stage = "";

        public void Begin(string label)
        {
            current?.StopTask();
            if (printStages) context.Console.WriteLine(label);
            stage = Markup.Escape(label);
            current = progress.AddTask(stage);
            current.IsIndeterminate = true;
        }

        public void Step(int done, int total, string detail)
        {
            if (current is null) Begin("working");
            current!.IsIndeterminate = false;
            current.MaxValue = total;
            current.Value = done;
            current.Description = $"{stage}: {Markup.Escape(detail)}";
        }
    }

    private sealed class StageLines(CliContext context) : IStageReport
    {
        private Action<int, int, string> line = EveryFivePercent(context);

        public void Begin(string stage)
        {
            context.Info.WriteLine(stage);
            line = EveryFivePercent(context);
        }

        public void Step(int done, int total, string detail) => line(done, total, detail);
    }

    /// <summary>Inversion progress as a <see cref="Steps"/> report: the latest cosine and the resolution.</summary>
    public static IProgress<InversionProgress> Inversion(Action<int, int, string> report) =>
        new SynchronousProgress<InversionProgress>(p => report(p.Latest.Step, p.Steps, $"cosine {p.Latest.Cosine:F3}, {p.Size} px"));

    /// <summary>Fine-tuning progress as a <see cref="Steps"/> report: the epoch and the loss.</summary>
    public static IProgress<FineTuneProgress> FineTuning(Action<int, int, string> report) =>
        new SynchronousProgress<FineTuneProgress>(p => report(p.Step, p.TotalSteps, $"epoch {p.Epoch}, loss {p.Loss:F4}"));

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
