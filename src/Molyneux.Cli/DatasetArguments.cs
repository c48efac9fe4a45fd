using System.CommandLine;
using Molyneux.Evaluation;

namespace Molyneux.Cli;

/// <summary>The options of a command that reads a dataset through <see cref="LabeledImageDatasets"/> or
/// <see cref="CaptionPairDatasets"/> (formats: docs/datasets.md): <c>--split</c> and <c>--shard-cache</c> for both;
/// <c>--label-column</c> for labelled images; <c>--image-root</c>, <c>--image-column</c> and <c>--caption-column</c>
/// for captions.</summary>
public sealed class DatasetArguments(bool captions)
{
    public Option<string?> Split { get; } = new("--split") { Description = "Split folder (train, test, validation…) or Karpathy split to read; needed when a dataset has several" };

    public Option<string?> ShardCache { get; } = new("--shard-cache") { Description = $"Folder webdataset .tar shards are unpacked to (default {WebDatasetShards.DefaultCache})" };

    public Option<string> LabelColumn { get; } = new("--label-column") { Description = "Hugging Face metadata column with each image's class", DefaultValueFactory = _ => "label" };

    public Option<string?> ImageRoot { get; } = new("--image-root") { Description = "Folder the image paths of a COCO, Karpathy or CSV/TSV file are relative to (default: the file's folder)" };

    public Option<string> ImageColumn { get; } = new("--image-column") { Description = "CSV/TSV column with the image paths", DefaultValueFactory = _ => "image" };

    public Option<string> CaptionColumn { get; } = new("--caption-column") { Description = "CSV/TSV column with the captions", DefaultValueFactory = _ => "caption" };

    /// <param name="command">The command to add the options to.</param>
    /// <param name="withSplit">Whether to add <c>--split</c>: a command that reads two datasets (a linear probe's
    /// training and test sets) names each one's split itself.</param>
    public void AddTo(Command command, bool withSplit = true)
    {
        if (withSplit) command.Options.Add(Split);
        command.Options.Add(ShardCache);
        foreach (var option in captions ? new Option[] { ImageRoot, ImageColumn, CaptionColumn } : [LabelColumn])
            command.Options.Add(option);
    }

    public DatasetReadOptions Options(ParseResult parse, bool allowOutsideRoot = false) => new()
    {
        ShardCache = parse.GetValue(ShardCache),
        LabelColumn = captions ? new DatasetReadOptions().LabelColumn : parse.GetValue(LabelColumn)!,
        ImageRoot = captions ? parse.GetValue(ImageRoot) : null,
        ImageColumn = captions ? parse.GetValue(ImageColumn)! : new DatasetReadOptions().ImageColumn,
        CaptionColumn = captions ? parse.GetValue(CaptionColumn)! : new DatasetReadOptions().CaptionColumn,
        AllowOutsideRoot = allowOutsideRoot,
    };

    /// <summary>The labelled images at <paramref name="path"/>, in any layout <see cref="LabeledImageDatasets"/> reads.</summary>
    public ILabeledImageDataset OpenLabeled(ParseResult parse, string path) => OpenLabeled(parse, path, parse.GetValue(Split));

    /// <summary>The labelled images of split <paramref name="split"/> (null: the only one) at <paramref name="path"/>.</summary>
    public ILabeledImageDataset OpenLabeled(ParseResult parse, string path, string? split) =>
        LabeledImageDatasets.Open(path, split, Options(parse));

    /// <summary>What to pass to <see cref="PromptTemplates.Load"/>: the <c>--templates</c> value when given on the command
    /// line, else the dataset's own templates file when it ships one (CLIP_benchmark's), else the option's default; so a
    /// CLIP_benchmark folder is scored with the prompts CLIP_benchmark uses for it.</summary>
    public static string Templates(ParseResult parse, Option<string> templates, ILabeledImageDataset dataset) =>
        parse.GetResult(templates) is null or { Implicit: true } && dataset is LabeledImageSet { TemplatesFile: { } own } ? own : parse.GetValue(templates)!;

    /// <summary>The image–caption pairs at <paramref name="path"/>, in any format <see cref="CaptionPairDatasets"/> reads.</summary>
    public CaptionsDataset OpenCaptions(ParseResult parse, string path, bool allowOutsideRoot = false) =>
        CaptionPairDatasets.Open(path, parse.GetValue(Split), Options(parse, allowOutsideRoot));
}
