namespace Molyneux.Bench;

/// <summary>This process's resident memory as Linux reports it in /proc/self/status; NaN elsewhere.</summary>
internal static class ProcessMemory
{
    private const string Status = "/proc/self/status";

    /// <summary>RssAnon (private memory: tensors, buffers, the runtime) and RssFile (pages of mapped files in
    /// memory: page cache the kernel can drop), in MB.</summary>
    public static (double Anonymous, double Mapped) ResidentMegabytes()
    {
        if (!File.Exists(Status)) return (double.NaN, double.NaN);
        var lines = File.ReadAllLines(Status);
        double Field(string name) => lines.Where(line => line.StartsWith(name + ":", StringComparison.Ordinal))
            .Select(line => double.Parse(line[(name.Length + 1)..].Trim().Split(' ')[0]) / 1024).FirstOrDefault(double.NaN);
        return (Field("RssAnon"), Field("RssFile"));
    }
}
