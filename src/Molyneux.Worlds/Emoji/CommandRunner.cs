using System.ComponentModel;
using System.Diagnostics;

namespace Molyneux.Worlds.Emoji;

/// <summary>The outcome of an external program run to completion.</summary>
public sealed record CommandResult(int ExitCode, string Output, string Error);

/// <summary>Runs external programs (npm). An interface so that tests can stand in for the network
/// and count what would have been run.</summary>
public interface ICommandRunner
{
    /// <summary>Runs <paramref name="program"/> (looked up on PATH) and waits for it; null when no such program is
    /// installed, so callers can say how to install it.</summary>
    CommandResult? Run(string program, IReadOnlyList<string> arguments);
}

/// <summary>Runs real processes.</summary>
public sealed class ProcessRunner : ICommandRunner
{
    public static ProcessRunner Instance { get; } = new();

    private ProcessRunner() { }

    public CommandResult? Run(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception)
        {
            return null;
        }
        using (process)
        {
            // Both pipes are drained at once: a child that fills one while we block on the other would hang.
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return new CommandResult(process.ExitCode, output.Result, error.Result);
        }
    }
}
