namespace Molyneux.Runtime;

/// <summary>Writes files so that readers see either the old content or the complete new one, never a prefix:
/// the content goes to a temporary file in the same folder, which is then renamed into place.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>Builds a whole folder under a temporary name next to <paramref name="path"/> and renames it into
    /// place, so a model directory is either complete or absent. An existing folder is replaced only when
    /// <paramref name="overwrite"/> is set.</summary>
    public static void WriteDirectory(string path, bool overwrite, Action<string> fillFolder)
    {
        var fullPath = Path.GetFullPath(path.TrimEnd(Path.DirectorySeparatorChar));
        if (Directory.Exists(fullPath) && !overwrite)
            throw new OptionException($"{fullPath}: already exists (pass --overwrite to replace it)");
        if (File.Exists(fullPath))
            throw new OptionException($"{fullPath}: is a file, expected a folder to write");
        var parent = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(parent);
        var temporary = Path.Combine(parent, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temporary);
        try
        {
            fillFolder(temporary);
            if (Directory.Exists(fullPath))
            {
                var old = temporary + ".old";
                Directory.Move(fullPath, old);
                Directory.Move(temporary, fullPath);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temporary, fullPath);
            }
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }
}
