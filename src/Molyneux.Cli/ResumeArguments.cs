using System.CommandLine;
using Molyneux.Runtime;

namespace Molyneux.Cli;

/// <summary>The options of a command whose output is a <see cref="ResumableOutput"/> (<c>pretrain</c>, <c>invert</c>,
/// <c>finetune</c>): <c>--resume</c>, <c>--overwrite</c> and, for those that save their state every N steps,
/// <c>--save-every</c>.</summary>
public sealed class ResumeArguments(int? saveEveryDefault = null)
{
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue an interrupted run from its saved state" };

    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Replace an existing output folder" };

    public Option<int>? SaveEvery { get; } = saveEveryDefault is { } every
        ? new("--save-every") { Description = "Save the state every N steps to OUT.resume/ (0: never)", DefaultValueFactory = _ => every }
        : null;

    public void AddTo(Command command)
    {
        command.Options.Add(Resume);
        command.Options.Add(Overwrite);
        if (SaveEvery is not null) command.Options.Add(SaveEvery);
    }

    /// <summary>The saving interval, checked.</summary>
    public int SaveEveryValue(ParseResult parse)
    {
        var every = parse.GetValue(SaveEvery!);
        return every >= 0 ? every : throw new OptionException($"--save-every: must not be negative, got {every}");
    }

    /// <summary>The output folder, checked against what is on disk (see <see cref="ResumableOutput"/>).</summary>
    public ResumableOutput Output(ParseResult parse, string output, string stateFile) =>
        new(output, stateFile, parse.GetValue(Resume), parse.GetValue(Overwrite));
}
