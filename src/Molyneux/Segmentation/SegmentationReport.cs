using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;

namespace Molyneux.Segmentation;

/// <summary>One image's scores.</summary>
public sealed record ImageScores(string Image, string Class, double Dice, [property: JsonPropertyName("iou")] double IoU, double Nsd);

/// <summary>A mean with its 95 % bootstrap interval.</summary>
public sealed record MeanWithInterval(double Mean, double Low, double High)
{
    public static MeanWithInterval Of(IReadOnlyList<IReadOnlyList<double>> groups)
    {
        var interval = Bootstrap.MacroMean(groups);
        return new MeanWithInterval(Bootstrap.Mean(groups), interval.Low, interval.High);
    }

    public override string ToString() => $"{Mean:F3} [{Low:F3}, {High:F3}]";
}

/// <summary>DSC, IoU and NSD of one class (means over its images) or of the whole set (macro means over classes).</summary>
public sealed record SegmentationSummary(string Class, string Prompt, int Images, MeanWithInterval Dice,
    [property: JsonPropertyName("iou")] MeanWithInterval IoU, MeanWithInterval Nsd);

/// <summary>What <c>molyneux eval segment</c> prints and writes (<c>--json</c>): the settings, the overall macro
/// means, one summary per class, every image's scores and the <see cref="RunEnvironment"/>.</summary>
public sealed record SegmentationReport(
    string Task,
    string? Model,
    string ModelIdentity,
    string Dataset,
    string Method,
    MaskOptions Mask,
    double NsdTolerance,
    SegmentationSummary Overall,
    IReadOnlyList<SegmentationSummary> PerClass,
    IReadOnlyList<ImageScores> PerImage,
    RunEnvironment? Environment = null)
{
    public const string FileName = "segmentation.json";

    internal static SegmentationReport Create(IVisionLanguageModel model, SegmentationDataset data, SegmentationOptions options,
        IReadOnlyList<string> prompts, IReadOnlyList<ImageScores> scores)
    {
        IReadOnlyList<IReadOnlyList<double>> Groups(Func<ImageScores, double> metric) =>
            data.ClassFolders.Select(folder => (IReadOnlyList<double>)scores.Where(s => s.Class == folder).Select(metric).ToList()).ToList();
        var perClass = data.ClassFolders.Select((folder, c) =>
        {
            var mine = scores.Where(s => s.Class == folder).ToList();
            IReadOnlyList<IReadOnlyList<double>> One(Func<ImageScores, double> metric) => [mine.Select(metric).ToList()];
            return new SegmentationSummary(folder, prompts[c], mine.Count,
                MeanWithInterval.Of(One(s => s.Dice)), MeanWithInterval.Of(One(s => s.IoU)), MeanWithInterval.Of(One(s => s.Nsd)));
        }).ToList();
        var overall = new SegmentationSummary("all", "", scores.Count,
            MeanWithInterval.Of(Groups(s => s.Dice)), MeanWithInterval.Of(Groups(s => s.IoU)), MeanWithInterval.Of(Groups(s => s.Nsd)));
        return new SegmentationReport("segmentation", model.Source?.Path, model.Identity, data.Location, options.Method.Description,
            options.Mask, options.Tolerance, overall, perClass, scores, RunEnvironment.Capture(model.Device));
    }

    public string ToJson() => JsonSerializer.Serialize(this, SnakeCaseJson.Strict);

    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");

    public static SegmentationReport Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<SegmentationReport>(File.ReadAllText(path), SnakeCaseJson.Strict)
                   ?? throw new DatasetException($"{path}: empty segmentation report");
        }
        catch (JsonException error)
        {
            throw new DatasetException($"{path}: not a segmentation report: {error.Message}", error);
        }
    }
}
