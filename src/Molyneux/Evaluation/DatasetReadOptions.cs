using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>How <see cref="LabeledImageDatasets"/> and <see cref="CaptionPairDatasets"/> read a dataset whose layout
/// leaves choices open: which columns hold what, where relative image paths start, where tar shards are unpacked.
/// Every default matches the most common spelling of the format, so most datasets need none of these.</summary>
public sealed record DatasetReadOptions
{
    /// <summary>The folder image paths of a COCO, Karpathy or CSV/TSV file are relative to; null: the file's folder.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>The CSV/TSV column that holds image paths.</summary>
    public string ImageColumn { get; init; } = "image";

    /// <summary>The CSV/TSV column that holds captions.</summary>
    public string CaptionColumn { get; init; } = "caption";

    /// <summary>The column of a Hugging Face <c>metadata.jsonl</c>/<c>metadata.csv</c> that holds each image's class.</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>Accept image paths that leave the image root (or are absolute); off so that a data file handed over with
    /// a dataset cannot make Molyneux read arbitrary files.</summary>
    public bool AllowOutsideRoot { get; init; }

    /// <summary>Where webdataset tar shards are unpacked (one folder per shard content hash); null:
    /// <see cref="WebDatasetShards.DefaultCache"/>.</summary>
    public string? ShardCache { get; init; }

    internal string ShardCacheOrDefault => ShardCache ?? WebDatasetShards.DefaultCache;
}
