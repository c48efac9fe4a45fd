namespace Molyneux.Bench;

/// <summary>The command line: modes as flags (<c>--mfu</c>), settings as <c>--name value</c>.</summary>
internal sealed class BenchArguments(string[] args)
{
    public bool Has(string flag) => args.Contains(flag);

    public string? Value(string name) =>
        Array.IndexOf(args, name) is >= 0 and var at && at + 1 < args.Length ? args[at + 1] : null;

    public int Int(string name, int fallback) => Value(name) is { } value ? int.Parse(value) : fallback;

    public IReadOnlyList<string> List(string name, params string[] fallback) => Value(name)?.Split(',') ?? fallback;
}
