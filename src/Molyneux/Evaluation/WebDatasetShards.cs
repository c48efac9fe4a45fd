using System.Formats.Tar;
using System.Security.Cryptography;
using Molyneux.Imaging;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>One sample of a webdataset shard: the tar members that share a key (<c>dir/0001.jpg</c> and
/// <c>dir/0001.cls</c> are the sample <c>dir/0001</c>), each by its extension (<c>jpg</c>, <c>cls</c>, <c>seg.png</c>,
/// lower case) mapped to the unpacked file.</summary>
public sealed record WebDatasetSample(string Shard, string Key, IReadOnlyDictionary<string, string> Files)
{
    /// <summary>The sample's image file, or a <see cref="DatasetException"/> naming the shard and key when it has none
    /// or more than one.</summary>
    public string Image()
    {
        var images = Files.Where(file => ImageFiles.Extensions.Contains("." + file.Key)).ToList();
        return images.Count switch
        {
            1 => images[0].Value,
            0 => throw new DatasetException($"{Shard}: sample '{Key}' has no image member ({string.Join(", ", ImageFiles.Extensions.Select(e => Key + e))}); it has {Members()}"),
            _ => throw new DatasetException($"{Shard}: sample '{Key}' has more than one image member ({string.Join(", ", images.Select(i => $"{Key}.{i.Key}"))})"),
        };
    }

    /// <summary>The text of member <c>Key.extension</c>, trimmed; null when the sample has no such member.</summary>
    public string? Text(string extension) => Files.TryGetValue(extension, out var file) ? File.ReadAllText(file).Trim() : null;

    /// <summary>The member names, for messages.</summary>
    public string Members() => string.Join(", ", Files.Keys.Select(extension => $"{Key}.{extension}"));
}

/// <summary>Reads webdataset tar shards (the layout of img2dataset and CLIP_benchmark: samples are runs of tar members
/// that share a name up to the first dot of the file name). The image decoders read files, so each shard is unpacked
/// once into <c>CACHE/&lt;SHA-256 of the shard&gt;/</c>: keyed by content, a changed shard is unpacked again and an
/// unchanged one, wherever it lies, is read from the cache. Unpacking builds the folder under a temporary name and
/// renames it into place, so a folder in the cache is always complete.</summary>
public static class WebDatasetShards
{
    private const string FilesFolder = "files";
    private const string MembersFile = "members.txt";

    /// <summary><c>$MOLYNEUX_HOME/datasets/shards</c>.</summary>
    public static string DefaultCache => CacheUnder(MolyneuxHome.Default);

    /// <summary>The shard cache of a Molyneux home folder (<c>HOME/datasets/shards</c>).</summary>
    public static string CacheUnder(string home) => Path.Combine(home, "datasets", "shards");

    /// <summary>The <c>.tar</c> files directly in <paramref name="folder"/>, numbers in their names compared as numbers
    /// (<c>2.tar</c> before <c>10.tar</c>).</summary>
    public static IReadOnlyList<string> InFolder(string folder) =>
        Directory.EnumerateFiles(folder, "*.tar").Order(DatasetSplits.NaturalOrder).ToArray();

    /// <summary>The samples of the shards in order: shard by shard, and within a shard in the order their first members
    /// appear in the tar.</summary>
    public static IReadOnlyList<WebDatasetSample> Read(IEnumerable<string> shards, string cache) =>
        shards.SelectMany(shard => Read(shard, cache)).ToList();

    /// <summary>The samples of one shard, unpacking it into <paramref name="cache"/> unless it is there already.</summary>
    public static IReadOnlyList<WebDatasetSample> Read(string shard, string cache)
    {
        var fullShard = Path.GetFullPath(shard);
        if (!File.Exists(fullShard)) throw new DatasetException($"{fullShard}: shard not found");
        var folder = Path.Combine(Path.GetFullPath(cache), ContentHash(fullShard));
        if (!Directory.Exists(folder))
            AtomicFile.WriteDirectory(folder, overwrite: true, temporary => Unpack(fullShard, temporary));
        var files = Path.Combine(folder, FilesFolder);
        var samples = new List<(string Key, Dictionary<string, string> Files)>();
        var sampleOfKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var member in File.ReadAllLines(Path.Combine(folder, MembersFile)))
        {
            if (SplitName(member) is not { } name) continue;
            var (key, extension) = name;
            if (!sampleOfKey.TryGetValue(key, out var index))
            {
                sampleOfKey[key] = index = samples.Count;
                samples.Add((key, new Dictionary<string, string>(StringComparer.Ordinal)));
            }
            if (!samples[index].Files.TryAdd(extension.ToLowerInvariant(), Path.Combine(files, member)))
                throw new DatasetException($"{fullShard}: sample '{key}' has two members with the extension '{extension.ToLowerInvariant()}'");
        }
        return samples.Select(sample => new WebDatasetSample(fullShard, sample.Key, sample.Files)).ToList();
    }

    /// <summary>webdataset's split of a member name: the key is the folder and the file name up to its first dot, the
    /// extension the rest; names without a dot, or starting with one, belong to no sample.</summary>
    private static (string Key, string Extension)? SplitName(string member)
    {
        var slash = member.LastIndexOf('/');
        var dot = member.IndexOf('.', slash + 1);
        return dot <= slash + 1 || dot == member.Length - 1 ? null : (member[..dot], member[(dot + 1)..]);
    }

    private static string ContentHash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static void Unpack(string shard, string folder)
    {
        var files = Path.Combine(folder, FilesFolder);
        Directory.CreateDirectory(files);
        var members = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(shard);
            using var reader = new TarReader(stream);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)) continue;
                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (name.Contains('\n') || name.Contains('\\'))
                    throw new DatasetException($"{shard}: member name '{name}' contains a newline or a backslash");
                if (ContainedPath.Problem(files, name) is { } problem)
                    throw new DatasetException($"{shard}: member '{name}' {problem}");
                if (!seen.Add(name))
                    throw new DatasetException($"{shard}: member '{name}' appears twice");
                var target = Path.Combine(files, name);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
                    entry.DataStream?.CopyTo(output);
                members.Add(name);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new DatasetException($"{shard}: not a readable tar file: {e.Message}", e);
        }
        File.WriteAllLines(Path.Combine(folder, MembersFile), members);
    }
}
