using Molyneux.Cli;

namespace Molyneux.Tests.Cli;

/// <summary>Runs the real CLI entry point in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = MolyneuxCli.Run(args, output, error);
        return new Result(exitCode, output.ToString(), error.ToString());
    }
}
