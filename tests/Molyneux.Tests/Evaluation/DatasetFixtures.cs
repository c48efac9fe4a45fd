using System.Formats.Tar;
using System.Text;

namespace Molyneux.Tests.Evaluation;

/// <summary>Small dataset files the reader tests write: tar shards, files with given bytes.</summary>
internal static class DatasetFixtures
{
    /// <summary>A tar (PAX) with the members in the order given.</summary>
    public static string WriteTar(string path, params (string Name, byte[] Content)[] members)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var stream = File.Create(path);
        using var writer = new TarWriter(stream, TarEntryFormat.Pax);
        foreach (var (name, content) in members)
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        return path;
    }

    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Bytes that differ per name, so a test can tell which file an unpacked image came from.</summary>
    public static byte[] Bytes(string name) => Encoding.UTF8.GetBytes("image " + name);

    public static string Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public static string Touch(string path) => Write(path, "x");
}
