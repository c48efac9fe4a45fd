namespace Molyneux.Tests;

/// <summary>Locations the tests read: the repository root and the shared golden data beside it (../shared).</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

    public static string Golden => Path.Combine(Shared, "golden");

    public static string GoldenClip(string relative) => Path.Combine(Golden, "clip", relative);

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "Molyneux.slnx")))
                return folder.FullName;
        throw new InvalidOperationException($"no Molyneux.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>A fresh folder under the system temp folder, deleted when disposed.</summary>
    public sealed class TempFolder : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "molyneux-tests-" + Guid.NewGuid().ToString("N"));

        public TempFolder() => Directory.CreateDirectory(Path);

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }
}
