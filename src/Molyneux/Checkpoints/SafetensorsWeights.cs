using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;

namespace Molyneux.Checkpoints;

/// <summary>The tensors of a checkpoint, from one safetensors file or from the shards that a Hugging Face index
/// (<c>model.safetensors.index.json</c>, <c>weight_map</c>: tensor name → shard file) names. Large models are
/// published sharded, so the loaders that read <c>model.safetensors</c> read through this class; every shard is
/// checked against the index when opened, so a missing shard or a tensor that is not where the index says is
/// reported before any weight is copied, by the index's path and the shard's name.</summary>
public sealed class SafetensorsWeights : IDisposable
{
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly IReadOnlyDictionary<string, SafetensorsFile> fileOf;
    private readonly IReadOnlyList<SafetensorsFile> files;

    private SafetensorsWeights(string path, IReadOnlyList<SafetensorsFile> files, IReadOnlyDictionary<string, SafetensorsFile> fileOf)
    {
        Path = path;
        this.files = files;
        this.fileOf = fileOf;
        Entries = fileOf.ToDictionary(entry => entry.Key, entry => entry.Value.Entries[entry.Key], StringComparer.Ordinal);
    }

    /// <summary>The file opened: a safetensors file, or the index of a sharded checkpoint.</summary>
    public string Path { get; }

    /// <summary>Every tensor of the checkpoint; <see cref="SafetensorsEntry.Begin"/> and <see cref="SafetensorsEntry.End"/>
    /// are offsets in the tensor's own shard.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Opens a safetensors file (optionally gzip-compressed), or, for a path ending in <c>.json</c>, the
    /// index of a sharded checkpoint and all its shards.</summary>
    public static SafetensorsWeights Open(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var file = SafetensorsFile.Open(path);
            return new SafetensorsWeights(path, [file], file.Entries.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal));
        }
        return OpenSharded(path);
    }

    /// <summary>The weights of a Hugging Face model folder: <c>model.safetensors</c> when present, else the index of
    /// a sharded checkpoint; null when the folder has neither.</summary>
    public static string? FindInFolder(string folder)
    {
        var single = System.IO.Path.Combine(folder, "model.safetensors");
        if (File.Exists(single)) return single;
        var index = System.IO.Path.Combine(folder, IndexFileName);
        return File.Exists(index) ? index : null;
    }

    /// <summary>SHA-256 (hex) of what <see cref="Open"/> reads from <paramref name="path"/>: the file's bytes, as for
    /// any weights file, or for an index its bytes followed by every shard's, shards in name order. The index alone
    /// would not do as a model's identity: fine-tuned copies of one model share their index byte for byte.</summary>
    public static string HashContent(string path)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Append(string file)
        {
            using var stream = File.OpenRead(file);
            var buffer = new byte[1 << 20];
            for (int read; (read = stream.Read(buffer)) > 0;) hash.AppendData(buffer, 0, read);
        }
        Append(path);
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            foreach (var shard in ReadWeightMap(path).Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
                Append(System.IO.Path.Combine(folder, shard));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A new CPU tensor holding a bit-exact copy of the stored bytes, from the shard that holds it.</summary>
    public torch.Tensor Read(string name) =>
        fileOf.TryGetValue(name, out var file) ? file.Read(name) : throw new CheckpointException($"{Path}: no tensor named '{name}'");

    public void Dispose()
    {
        foreach (var file in files) file.Dispose();
    }

    private static SafetensorsWeights OpenSharded(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var shardPath = System.IO.Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new CheckpointException($"{indexPath}: shard '{shard}' is missing (expected at {shardPath}; the index places " +
                                                  $"{weightMap.Count(entry => entry.Value == shard)} tensors in it)");
                shards[shard] = SafetensorsFile.Open(shardPath);
            }
            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            var absent = new List<string>();
            foreach (var (tensor, shard) in weightMap)
            {
                if (shards[shard].Entries.ContainsKey(tensor)) fileOf[tensor] = shards[shard];
                else absent.Add($"{tensor} (in {shard})");
            }
            if (absent.Count > 0)
                throw new CheckpointException($"{indexPath}: " + ModuleWeights.Describe("listed in the index are not in their shard", absent));
            var unlisted = shards.SelectMany(shard => shard.Value.Entries.Keys.Where(name => !weightMap.ContainsKey(name)).Select(name => $"{name} (in {shard.Key})"))
                .Order(StringComparer.Ordinal).ToList();
            if (unlisted.Count > 0)
                throw new CheckpointException($"{indexPath}: " + ModuleWeights.Describe("in a shard are not in the index's weight_map", unlisted));
            return new SafetensorsWeights(indexPath, [.. shards.Values], fileOf);
        }
        catch
        {
            foreach (var file in shards.Values) file.Dispose();
            throw;
        }
    }

    /// <summary>The index's <c>weight_map</c>. Shard names must stay inside the index's folder: an index is data from
    /// wherever the checkpoint came from, and "../" or an absolute path would make it read any file.</summary>
    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(indexPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{indexPath}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{indexPath}: cannot be read ({e.Message})", e);
        }
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (JsonNode.Parse(bytes) is not JsonObject root || root["weight_map"] is not JsonObject map)
                throw new CheckpointException($"{indexPath}: expected a JSON object with a 'weight_map' object (tensor name → shard file)");
            foreach (var (tensor, value) in map)
            {
                if (value is not JsonValue shardValue || !shardValue.TryGetValue<string>(out var shard) || shard.Length == 0)
                    throw new CheckpointException($"{indexPath}: weight_map['{tensor}'] is {value?.ToJsonString() ?? "null"}, expected a shard file name");
                if (System.IO.Path.IsPathRooted(shard) || shard.Split('/', '\\').Any(part => part is ".." or ""))
                    throw new CheckpointException($"{indexPath}: weight_map['{tensor}'] names '{shard}', which is not a file inside the index's folder");
                weightMap[tensor] = shard;
            }
        }
        // A duplicate key surfaces as an ArgumentException when the object is first read.
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointException($"{indexPath}: not a valid index ({e.Message})", e);
        }
        if (weightMap.Count == 0)
            throw new CheckpointException($"{indexPath}: weight_map is empty");
        return weightMap;
    }
}
