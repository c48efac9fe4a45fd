using System.CommandLine;
using Molyneux.Runtime;

namespace Molyneux.Cli;

/// <summary><c>--json [FILE]</c>, meaning the same in every command: given alone it prints the JSON to stdout and
/// nothing else, so that a script can parse all it reads; given a file it writes the JSON there (atomically) and the
/// command prints its usual human output. Commands used to disagree (a flag in some, a file in others), so a script
/// written against one broke on the next.</summary>
public sealed class JsonOutputOption
{
    /// <param name="content">What the JSON holds, for --help (e.g. "the report (docs/evaluation-report.md)").</param>
    public JsonOutputOption(string content)
    {
        Option = new Option<string?>("--json")
        {
            Description = $"{content}. --json alone prints it (and nothing else); --json FILE writes it to FILE and prints the usual output",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "FILE",
        };
    }

    public Option<string?> Option { get; }

    /// <summary>Whether --json was given, with or without a file.</summary>
    public bool Given(ParseResult parse) => parse.GetResult(Option) is not null;

    /// <summary>The file --json names; null when it was not given or given alone.</summary>
    public string? File(ParseResult parse)
    {
        var path = parse.GetValue(Option);
        if (path is not null && string.IsNullOrWhiteSpace(path)) throw new OptionException("--json: the file name is empty (give --json alone to print the JSON)");
        return path;
    }

    /// <summary>Whether the JSON goes to stdout, in which case the command prints nothing else there.</summary>
    public bool ToStandardOutput(ParseResult parse) => Given(parse) && File(parse) is null;

    /// <summary>The one write path of --json: the text <paramref name="json"/> makes (only called when --json was given)
    /// to the file or to stdout, ending in one newline (in a file only with <paramref name="fileEndsWithNewline"/>, for
    /// formats that must match another tool's bytes). Returns true when it went to stdout, so that the caller stops there
    /// instead of printing its table after it.</summary>
    public bool Write(ParseResult parse, CliContext context, Func<string> json, bool fileEndsWithNewline = true)
    {
        if (!Given(parse)) return false;
        var text = json().TrimEnd('\r', '\n');
        if (File(parse) is { } path)
        {
            AtomicFile.WriteAllText(path, fileEndsWithNewline ? text + "\n" : text);
            return false;
        }
        context.Output.Write(text + "\n");
        return true;
    }
}
