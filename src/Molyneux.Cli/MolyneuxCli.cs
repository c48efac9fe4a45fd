using System.CommandLine;
using Molyneux.Cli.Commands;
using Spectre.Console;

namespace Molyneux.Cli;

/// <summary>The <c>molyneux</c> command tree. Every command is a thin shell over the library; errors the library
/// reports about the user's input print as one line (with the stack under --verbose) and exit with 1.</summary>
public static class MolyneuxCli
{
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces with errors", Recursive = true };

    /// <summary>Caps libtorch's intra-op threads, for sharing a machine or timing runs; without it libtorch picks.</summary>
    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "Threads libtorch may use within one operation, and image-decoding workers (default: libtorch's choice and one worker per core)",
        Recursive = true,
    };

    /// <summary>For scripts and logs that want only results and errors.</summary>
    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "Print no progress bars, progress lines or informational messages; results, warnings and errors still print",
        Recursive = true,
    };

    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        CreateRoot(output, error).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });

    /// <summary>The whole command tree, writing to <paramref name="output"/> and <paramref name="error"/>; public so that
    /// tests can walk it (every option described) without running anything.</summary>
    public static RootCommand CreateRoot(TextWriter output, TextWriter error)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(output, Console.Out) ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = ReferenceEquals(output, Console.Out) ? InteractionSupport.Detect : InteractionSupport.No,
        });
        var context = new CliContext(console, output, error);
        var root = new RootCommand("Molyneux: teach CLIP-like models new visual concepts from text alone.")
        {
            Verbose,
            Threads,
            Quiet,
            InfoCommand.Create(context),
            EmbedCommand.Create(context),
            CaptionCommand.Create(context),
            SaliencyCommand.Create(context),
            SimilarityCommand.Create(context),
            ConvertCommand.Create(context),
            EvalCommands.Create(context),
            DataCommands.Create(context),
            PretrainCommand.Create(context),
            AlignCommand.Create(context),
            LearnCommands.Learn(context),
            LearnCommands.Demo(context),
            InvertCommand.Create(context),
            FineTuneCommand.Create(context),
            AsifCommands.Create(context),
        };
        return root;
    }
}

/// <summary>Where commands write, and the error policy they share.</summary>
public sealed class CliContext(IAnsiConsole console, TextWriter output, TextWriter error)
{
    public IAnsiConsole Console { get; } = console;

    /// <summary>Raw output for machine-readable results (JSON), bypassing Spectre's markup and wrapping.</summary>
    public TextWriter Output { get; } = output;

    /// <summary>Errors and warnings: printed even under --quiet.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Set from --quiet when a command starts: progress and informational messages are dropped.</summary>
    public bool Quiet { get; private set; }

    /// <summary>Informational messages (downloads, data preparation, training stages): stderr, or nowhere under --quiet.</summary>
    public TextWriter Info => Quiet ? TextWriter.Null : Error;

    /// <summary>Runs a command body: input errors become one line on stderr and exit code 1; anything else is a
    /// bug, reported with its stack and exit code 2. The global options (--quiet, --threads) take effect here, once,
    /// before any command runs, and deprecated option spellings are warned about (<see cref="DeprecatedSpellings"/>).</summary>
    public void SetAction(Command command, Func<ParseResult, int> body) => command.SetAction(parse =>
    {
        var verbose = parse.GetValue(MolyneuxCli.Verbose);
        Quiet = parse.GetValue(MolyneuxCli.Quiet);
        DeprecatedSpellings.Warn(parse, Error);
        try
        {
            using var threads = LibtorchThreads.Use(parse.GetValue(MolyneuxCli.Threads));
            return body(parse);
        }
        catch (MolyneuxException e)
        {
            Error.WriteLine($"error: {e.Message}");
            if (verbose) Error.WriteLine(e);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error.WriteLine($"error: {e.Message}");
            if (verbose) Error.WriteLine(e);
            return 1;
        }
        catch (Exception e)
        {
            Error.WriteLine($"internal error (please report): {e.GetType().Name}: {e.Message}");
            Error.WriteLine(e);
            return 2;
        }
    });
}
