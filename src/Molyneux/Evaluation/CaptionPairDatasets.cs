using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>Opens image–caption pairs in whichever format they come, so that every command that takes them
/// (<c>eval retrieve</c>, <c>eval caption</c>, <c>pretrain</c>, <c>align</c>, <c>asif build</c>…) reads the same
/// formats (docs/datasets.md), chosen by the path:
/// <list type="bullet">
/// <item><c>.jsonl</c>: Molyneux's captions file (<see cref="CaptionsDataset.Load"/>);</item>
/// <item><c>.json</c>: COCO captions or a Karpathy split file, told apart by their fields (<see cref="CocoCaptions"/>);</item>
/// <item><c>.csv</c>, <c>.tsv</c>: a table with an image column and a caption column; rows of one image are its captions;</item>
/// <item><c>.tar</c> or a folder of <c>.tar</c> shards (or of split folders of them): webdataset samples of an image
/// and a caption, <c>KEY.txt</c> or <c>KEY.json</c> with a <c>"caption"</c> (or <c>"text"</c>) string.</item>
/// </list>
/// Only Karpathy files and shard folders have splits; <c>split</c> for another format is an error rather than ignored,
/// so that a command never evaluates on more than was asked.</summary>
public static class CaptionPairDatasets
{
    public static CaptionsDataset Open(string path, string? split = null, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            var folder = DatasetSplits.Choose(fullPath, split);
            var shards = WebDatasetShards.InFolder(folder);
            if (shards.Count == 0)
                throw new DatasetException($"{folder}: no .tar shards (a folder of image-caption pairs is a webdataset; other formats are files: .jsonl, .json, .csv, .tsv)");
            return FromShards(folder, shards, options);
        }
        if (!File.Exists(fullPath)) throw new DatasetException($"{fullPath}: captions file not found");
        var extension = Path.GetExtension(fullPath).ToLowerInvariant();
        if (extension != ".json") NoSplits(fullPath, split);
        switch (extension)
        {
            case ".jsonl":
                if (options.ImageRoot is not null) throw new OptionException($"--image-root: {fullPath} is a JSON Lines captions file, whose images are relative to its own folder");
                return CaptionsDataset.Load(fullPath, options.AllowOutsideRoot);
            case ".json":
                using (var document = CocoCaptions.Parse(fullPath))
                {
                    if (CocoCaptions.IsCoco(document.RootElement))
                    {
                        NoSplits(fullPath, split);
                        return CocoCaptions.LoadCoco(fullPath, options);
                    }
                    if (CocoCaptions.IsKarpathy(document.RootElement)) return CocoCaptions.LoadKarpathy(fullPath, split, options);
                }
                throw new DatasetException($"{fullPath}: neither COCO captions (\"images\" and \"annotations\") nor a Karpathy split file (\"images\" with \"sentences\")");
            case ".csv" or ".tsv" or ".tab":
                return FromTable(DelimitedTable.Read(fullPath), options);
            case ".tar":
                return FromShards(fullPath, [fullPath], options);
            default:
                throw new DatasetException($"{fullPath}: unknown captions format '{extension}'; expected .jsonl, .json (COCO or Karpathy), .csv, .tsv, .tar or a folder of .tar shards");
        }
    }

    private static void NoSplits(string path, string? split)
    {
        if (split is not null) throw new OptionException($"--split {split}: {path} has no splits (only Karpathy split files and folders of split folders do)");
    }

    /// <summary>Rows grouped by image in order of first appearance, each image's captions in row order, so the usual
    /// long table (one row per caption, COCO's five captions as five rows) gives one retrieval target per image.</summary>
    private static CaptionsDataset FromTable(DelimitedTable table, DatasetReadOptions options)
    {
        var imageColumn = table.Column(options.ImageColumn, "choose the image column with --image-column");
        var captionColumn = table.Column(options.CaptionColumn, "choose the caption column with --caption-column");
        var imageRoot = Path.GetFullPath(options.ImageRoot ?? Path.GetDirectoryName(table.Location)!);
        var images = new List<(string Path, List<string> Captions, int Line)>();
        var indexOfImage = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in table.Rows)
        {
            var where = $"{table.Location}: line {row.Line}";
            var relative = row.Fields[imageColumn].Trim();
            var caption = row.Fields[captionColumn].Trim();
            if (relative.Length == 0) throw new DatasetException($"{where}: empty '{options.ImageColumn}'");
            if (caption.Length == 0) throw new DatasetException($"{where}: empty '{options.CaptionColumn}'");
            if (!options.AllowOutsideRoot && ContainedPath.Problem(imageRoot, relative) is { } problem)
                throw new DatasetException($"{where}: image path '{relative}' {problem} (or allow paths outside the root)");
            var resolved = Path.GetFullPath(Path.Combine(imageRoot, relative));
            if (!indexOfImage.TryGetValue(resolved, out var index))
            {
                if (!File.Exists(resolved)) throw new DatasetException($"{where}: image file not found: {resolved}");
                indexOfImage[resolved] = index = images.Count;
                images.Add((resolved, [], row.Line));
            }
            images[index].Captions.Add(caption);
        }
        return CaptionsDataset.FromImages(table.Location, images.Select(image => new CaptionedImage(image.Path, image.Captions, image.Line)).ToList());
    }

    private static CaptionsDataset FromShards(string location, IReadOnlyList<string> shards, DatasetReadOptions options)
    {
        var images = new List<CaptionedImage>();
        foreach (var sample in WebDatasetShards.Read(shards, options.ShardCacheOrDefault))
        {
            var image = sample.Image();
            var caption = sample.Text("txt") ?? (sample.Files.TryGetValue("json", out var json) ? JsonCaption(sample, json) : null)
                ?? throw new DatasetException($"{sample.Shard}: sample '{sample.Key}' has no caption member '{sample.Key}.txt' or '{sample.Key}.json' (it has {sample.Members()})");
            if (caption.Length == 0) throw new DatasetException($"{sample.Shard}: sample '{sample.Key}' has an empty caption");
            images.Add(new CaptionedImage(image, [caption], images.Count + 1));
        }
        return CaptionsDataset.FromImages(location, images);
    }

    private static string JsonCaption(WebDatasetSample sample, string file)
    {
        using var document = CocoCaptions.Parse(file);
        foreach (var name in new[] { "caption", "text" })
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                return value.GetString()!.Trim();
        throw new DatasetException($"{sample.Shard}: '{sample.Key}.json' has no \"caption\" or \"text\" string");
    }
}
