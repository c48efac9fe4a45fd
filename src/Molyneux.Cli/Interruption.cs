using Molyneux.Runtime;

namespace Molyneux.Cli;

/// <summary>Ctrl+C during a resumable run (<c>pretrain</c>, <c>align</c>): the run saves its state and stops between
/// two steps; the command says where the state is and exits with <see cref="ExitCode"/>.</summary>
public static class Interruption
{
    /// <summary>The shell's code for a process stopped by SIGINT.</summary>
    public const int ExitCode = 130;

    /// <summary>Runs <paramref name="run"/> with a token that Ctrl+C cancels.</summary>
    /// <param name="context">Where the message goes.</param>
    /// <param name="output">The run's output folder, whose state folder the message names.</param>
    /// <param name="run">The run; it saves its state when the token is cancelled, then throws OperationCanceledException.</param>
    /// <returns>false when the run was interrupted (the message written).</returns>
    public static bool Run(CliContext context, string output, Action<CancellationToken> run)
    {
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; interrupt.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            run(interrupt.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine($"interrupted: the state is saved in {ResumableOutput.ResumeFolderOf(output)}; rerun with --resume to continue");
            return false;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
