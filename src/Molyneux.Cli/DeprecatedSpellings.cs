using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;

namespace Molyneux.Cli;

/// <summary>Option spellings the CLI gave up when it settled on one name per input (<c>--image</c>, <c>--text</c>,
/// <c>--inverted</c>): they stay as aliases so that existing scripts keep running, and each one used prints one
/// warning per run naming the spelling to use instead.</summary>
public static class DeprecatedSpellings
{
    private static readonly ConditionalWeakTable<Option, HashSet<string>> Deprecated = new();

    /// <summary>Adds <paramref name="oldSpelling"/> to <paramref name="option"/> as a deprecated alias, said so in --help.</summary>
    public static T Alias<T>(T option, string oldSpelling) where T : Option
    {
        option.Aliases.Add(oldSpelling);
        lock (Deprecated) Deprecated.GetOrCreateValue(option).Add(oldSpelling);
        option.Description = $"{option.Description} ({oldSpelling}: deprecated spelling)";
        return option;
    }

    /// <summary>The deprecated spellings on the command line, each once, in the order first used. An alias names one
    /// option of the command that runs, so the option tokens are matched against that command's deprecated spellings.</summary>
    public static IReadOnlyList<(string Old, string New)> Used(ParseResult parse)
    {
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in parse.CommandResult.Command.Options)
            lock (Deprecated)
                if (Deprecated.TryGetValue(option, out var spellings))
                    foreach (var spelling in spellings) current[spelling] = option.Name;
        var used = new List<(string Old, string New)>();
        foreach (var token in parse.Tokens)
            if (token.Type == TokenType.Option && current.TryGetValue(token.Value, out var name) && !used.Contains((token.Value, name)))
                used.Add((token.Value, name));
        return used;
    }

    /// <summary>One line per deprecated spelling used: <c>warning: --images is deprecated; use --image</c>.</summary>
    public static void Warn(ParseResult parse, TextWriter error)
    {
        foreach (var (old, current) in Used(parse)) error.WriteLine($"warning: {old} is deprecated; use {current}");
    }
}
