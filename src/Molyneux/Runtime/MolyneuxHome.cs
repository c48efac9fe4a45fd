namespace Molyneux.Runtime;

/// <summary>Where Molyneux keeps what it downloads and builds (data sets, models): <c>$MOLYNEUX_HOME</c> when
/// set, else <c>~/.cache/molyneux</c>, the XDG cache convention, since everything there can be fetched again.</summary>
public static class MolyneuxHome
{
    public static string Default
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("MOLYNEUX_HOME");
            return string.IsNullOrWhiteSpace(configured)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "molyneux")
                : Path.GetFullPath(configured);
        }
    }
}
