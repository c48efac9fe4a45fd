using System.CommandLine;
using Molyneux.Runtime;

namespace Molyneux.Cli;

/// <summary><c>--tensorboard DIR</c> of the training commands: their per-step scalars (loss, learning rate, probe
/// accuracies) and images (inverted images) as TensorBoard event files.</summary>
public sealed class TensorBoardArguments
{
    public Option<string?> Folder { get; } = new("--tensorboard")
    {
        Description = "Write TensorBoard event files (loss, learning rate, probe accuracies, inverted images) to this folder (tensorboard --logdir DIR)",
    };

    public void AddTo(Command command) => command.Options.Add(Folder);

    /// <summary>The log, or null without the option.</summary>
    public TensorBoardLog? Open(ParseResult parse) => parse.GetValue(Folder) is { } folder ? new TensorBoardLog(folder) : null;

    /// <summary><paramref name="next"/>, with each report's scalars written to <paramref name="log"/> first when there is one.</summary>
    public static IProgress<T> Recording<T>(TensorBoardLog? log, string prefix, IProgress<T> next) where T : IStepScalars =>
        log?.Recording(prefix, next) ?? next;
}
