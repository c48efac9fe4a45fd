namespace Molyneux.Runtime;

/// <summary>Paths that a data file names relative to its own folder, which must stay inside that folder: a file
/// handed over with its data should not reach for other files of the machine it is read on.</summary>
public static class ContainedPath
{
    /// <summary>Why <paramref name="relative"/>, resolved against <paramref name="root"/>, is not inside it
    /// ("is absolute; …" or "leaves …"), or null when it is.</summary>
    public static string? Problem(string root, string relative)
    {
        if (Path.IsPathRooted(relative))
            return $"is absolute; it must be relative to {root}";
        var relativeToRoot = Path.GetRelativePath(root, Path.GetFullPath(Path.Combine(root, relative)));
        return relativeToRoot == ".." || relativeToRoot.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relativeToRoot)
            ? $"leaves {root}"
            : null;
    }
}
