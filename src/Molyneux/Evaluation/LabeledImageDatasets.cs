namespace Molyneux.Evaluation;

/// <summary>Opens a classification dataset in whichever layout it has, so that every command that takes labelled
/// images (<c>eval classify</c>, <c>asif classify</c>…) reads the same layouts (docs/datasets.md):
/// <list type="bullet">
/// <item>CLIP_benchmark's webdataset: <c>classnames.txt</c> and <c>&lt;split&gt;/*.tar</c> (or the shards in the root);</item>
/// <item>a Hugging Face image folder: <c>metadata.jsonl</c> or <c>metadata.csv</c> in the root or its split folder;</item>
/// <item>an ImageFolder: <c>&lt;class&gt;/…/&lt;image&gt;</c>, images at any depth below their class folder.</item>
/// </list>
/// Split folders (<c>train/</c>, <c>test/</c>, <c>validation/</c>…) are chosen by <c>split</c> (see
/// <see cref="DatasetSplits.Choose"/>).</summary>
public static class LabeledImageDatasets
{
    public static ILabeledImageDataset Open(string path, string? split = null, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var root = Path.GetFullPath(path);
        if (File.Exists(root))
            throw new DatasetException($"{root}: is a file; a classification dataset is a folder (class folders, a Hugging Face image folder with metadata.jsonl/metadata.csv, or CLIP_benchmark's classnames.txt with <split>/*.tar shards)");
        if (!Directory.Exists(root)) throw new DatasetException($"{root}: dataset folder not found");

        var folder = DatasetSplits.Choose(root, split);
        if (WebDatasetShards.InFolder(folder).Count > 0)
            return ClipBenchmarkWebDataset.Load(root, folder, options.ShardCacheOrDefault);
        if (HuggingFaceImageFolder.FindMetadata(folder) is { } metadata)
            return HuggingFaceImageFolder.Load(metadata, options);
        return ImageFolderDataset.Load(folder, recursive: true);
    }
}
