using System.Text.RegularExpressions;

namespace Molyneux.Checkpoints;

/// <summary>Finds a Hugging Face hub model (<c>org/name</c>, optionally <c>@revision</c>) in the local cache that
/// huggingface_hub fills, without any network: <c>&lt;hub&gt;/models--org--name/refs/&lt;revision&gt;</c> holds a
/// commit hash, and <c>snapshots/&lt;hash&gt;/</c> is the model folder. The cache folder is found as huggingface_hub
/// finds it: <c>HF_HUB_CACHE</c>, else <c>HUGGINGFACE_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else
/// <c>$XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>. The environment is a parameter, so
/// that the lookup can be tested without touching the process's own.</summary>
public static partial class HuggingFaceCache
{
    /// <summary>A repository id as the hub spells it (owner and name of letters, digits, '-', '_', '.'), and an
    /// optional revision (a branch, tag or commit hash) after '@'.</summary>
    [GeneratedRegex(@"^(?<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(@(?<revision>[A-Za-z0-9][A-Za-z0-9._-]*))?$")]
    private static partial Regex RepoId();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();

    /// <summary>The model folder <paramref name="path"/> stands for: <paramref name="path"/> itself when it is an
    /// existing file or folder, or when it does not look like <c>org/name[@revision]</c> (the loader then reports it);
    /// otherwise the cached snapshot, or an error that names every place looked at.</summary>
    /// <param name="environment">Reads an environment variable (null when unset): <see cref="Environment.GetEnvironmentVariable(string)"/> in use.</param>
    /// <param name="path">What the user passed as the model: a file, a folder or an HF hub id.</param>
    public static string ResolveModelPath(string path, Func<string, string?> environment)
    {
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var match = RepoId().Match(path);
        if (!match.Success || match.Groups["repo"].Value.Split('/').Any(part => part.Contains("..", StringComparison.Ordinal))) return path;
        var repo = match.Groups["repo"].Value;
        var revision = match.Groups["revision"].Success ? match.Groups["revision"].Value : "main";
        var (hub, origin) = HubFolder(environment);
        var repoFolder = Path.Combine(hub, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));
        var where = $"(cache {hub}, from {origin})";
        if (!Directory.Exists(repoFolder))
            throw new CheckpointException($"{path}: no such file or folder, and not in the Hugging Face cache: {repoFolder} does not exist {where}. " +
                                          $"Download it first (huggingface-cli download {repo}) or give the model's folder");
        var snapshots = Path.Combine(repoFolder, "snapshots");
        string commit;
        if (CommitHash().IsMatch(revision)) commit = revision;
        else
        {
            var reference = Path.Combine(repoFolder, "refs", revision);
            if (!File.Exists(reference))
                throw new CheckpointException($"{path}: the Hugging Face cache has no revision '{revision}' of {repo}: {reference} does not exist {where}; " +
                                              $"cached snapshots: {Listing(snapshots)} (pass {repo}@<commit> for one of them)");
            commit = File.ReadAllText(reference).Trim();
            if (!CommitHash().IsMatch(commit))
                throw new CheckpointException($"{reference}: expected a 40-digit commit hash, found \"{(commit.Length > 60 ? commit[..57] + "..." : commit)}\"");
        }
        var snapshot = Path.Combine(snapshots, commit);
        if (!Directory.Exists(snapshot))
            throw new CheckpointException($"{path}: the Hugging Face cache has no snapshot {commit} of {repo}: {snapshot} does not exist {where}; " +
                                          $"cached snapshots: {Listing(snapshots)}");
        return snapshot;
    }

    /// <summary>The hub cache folder, and the setting it came from (for messages).</summary>
    public static (string Folder, string Origin) HubFolder(Func<string, string?> environment)
    {
        string? Get(string name) => environment(name) is { Length: > 0 } value ? value : null;
        if (Get("HF_HUB_CACHE") is { } hubCache) return (ExpandHome(hubCache, environment), "HF_HUB_CACHE");
        if (Get("HUGGINGFACE_HUB_CACHE") is { } legacy) return (ExpandHome(legacy, environment), "HUGGINGFACE_HUB_CACHE");
        if (Get("HF_HOME") is { } home) return (Path.Combine(ExpandHome(home, environment), "hub"), "HF_HOME");
        if (Get("XDG_CACHE_HOME") is { } xdg) return (Path.Combine(ExpandHome(xdg, environment), "huggingface", "hub"), "XDG_CACHE_HOME");
        return (Path.Combine(UserHome(environment), ".cache", "huggingface", "hub"), "the default ~/.cache/huggingface/hub");
    }

    /// <summary>"~" and "~/…" as Python's <c>os.path.expanduser</c> reads them, which huggingface_hub applies.</summary>
    private static string ExpandHome(string path, Func<string, string?> environment) =>
        path == "~" ? UserHome(environment)
        : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(UserHome(environment), path[2..])
        : path;

    private static string UserHome(Func<string, string?> environment) =>
        environment("HOME") is { Length: > 0 } home ? home
        : environment("USERPROFILE") is { Length: > 0 } profile ? profile
        : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string Listing(string snapshots)
    {
        var names = Directory.Exists(snapshots) ? Directory.EnumerateDirectories(snapshots).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [];
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }
}
