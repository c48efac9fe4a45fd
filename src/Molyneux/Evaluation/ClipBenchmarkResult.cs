using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>An evaluation result in LAION CLIP_benchmark's format, so that its <c>build</c> step, leaderboards and
/// users' scripts read Molyneux's results like its own. The file is exactly what CLIP_benchmark's <c>json.dump</c>
/// writes: one line <c>{"dataset": …, "model": …, "pretrained": …, "task": …, "metrics": {…}, "language": "en"}</c>,
/// floats as Python prints them and NaN as the bare token <c>NaN</c> (Python's json reads it; strict JSON parsers do
/// not, see <see cref="PythonJson.Parse"/>). Field by field: docs/evaluation-report.md.
///
/// Metric names per task, as CLIP_benchmark names them: zeroshot_classification <c>acc1</c>, <c>acc5</c>,
/// <c>mean_per_class_recall</c>; zeroshot_retrieval <c>image_retrieval_recall@k</c> (text → image) and
/// <c>text_retrieval_recall@k</c> (image → text) for each k; linear_probe <c>lp_acc1</c>, <c>lp_acc5</c>,
/// <c>lp_mean_per_class_recall</c>, <c>weight_decay</c>, <c>epochs</c>, <c>seed</c>, <c>fewshot_k</c>,
/// <c>normalized</c>. Like CLIP_benchmark, top-5 accuracy is NaN where it means nothing: zero-shot with fewer than 5
/// classes, the linear probe with 5 or fewer.</summary>
public sealed record ClipBenchmarkResult
{
    public const string ZeroShotClassificationTask = "zeroshot_classification";
    public const string ZeroShotRetrievalTask = "zeroshot_retrieval";
    public const string LinearProbeTask = "linear_probe";

    /// <summary>The dataset's name (CLIP_benchmark: "cifar10"; here the data folder's name unless one is given).</summary>
    public required string Dataset { get; init; }

    /// <summary>The architecture (CLIP_benchmark: "ViT-B-32"; here the model folder's or file's name unless given).</summary>
    public required string Model { get; init; }

    /// <summary>The weights (CLIP_benchmark: "laion2b_s34b_b79k" or a checkpoint path; here the model path).</summary>
    public required string Pretrained { get; init; }

    public required string Task { get; init; }

    /// <summary>The metrics in CLIP_benchmark's order; values are doubles, integers or booleans.</summary>
    public required IReadOnlyList<KeyValuePair<string, object?>> Metrics { get; init; }

    /// <summary>The language of class names and prompts; Molyneux's templates are English.</summary>
    public string Language { get; init; } = "en";

    /// <summary>The value of the metric <paramref name="name"/>; throws when there is none.</summary>
    public object? this[string name] => Metrics.FirstOrDefault(pair => pair.Key == name) is { Key: not null } found
        ? found.Value
        : throw new KeyNotFoundException($"no metric '{name}' (have {string.Join(", ", Metrics.Select(pair => pair.Key))})");

    /// <summary>acc1, acc5 and mean_per_class_recall from a zero-shot classification report.</summary>
    public static ClipBenchmarkResult FromClassification(ClassificationReport report, string dataset, string model, string pretrained) => new()
    {
        Dataset = dataset,
        Model = model,
        Pretrained = pretrained,
        Task = ZeroShotClassificationTask,
        Metrics =
        [
            new("acc1", report.Metrics.Top1),
            new("acc5", report.Dataset.NumClasses >= 5 ? report.Metrics.Top5 : double.NaN),
            new("mean_per_class_recall", report.Metrics.MeanPerClassRecall),
        ],
    };

    /// <summary>image_retrieval_recall@k and text_retrieval_recall@k for each k of
    /// <see cref="RetrievalReport.RecallAtK"/>, in that order; for a report without them (read back from a file),
    /// k = 1, 5, 10 from its fixed recalls.</summary>
    public static ClipBenchmarkResult FromRetrieval(RetrievalReport report, string dataset, string model, string pretrained)
    {
        var metrics = report.Metrics;
        var recalls = report.RecallAtK.Count > 0
            ? report.RecallAtK
            :
            [
                new RecallAtK(1, metrics.ImageToTextR1, metrics.TextToImageR1),
                new RecallAtK(5, metrics.ImageToTextR5, metrics.TextToImageR5),
                new RecallAtK(10, metrics.ImageToTextR10, metrics.TextToImageR10),
            ];
        return new()
        {
            Dataset = dataset,
            Model = model,
            Pretrained = pretrained,
            Task = ZeroShotRetrievalTask,
            Metrics = recalls.SelectMany(recall => new KeyValuePair<string, object?>[]
            {
                new($"image_retrieval_recall@{recall.K}", recall.TextToImage),
                new($"text_retrieval_recall@{recall.K}", recall.ImageToText),
            }).ToList(),
        };
    }

    /// <summary>The linear probe's test metrics and settings under CLIP_benchmark's names. <c>epochs</c> is the number
    /// of full-batch optimisation steps (each sees every training feature once); <c>fewshot_k</c> is −1: every
    /// training image is used.</summary>
    public static ClipBenchmarkResult FromLinearProbe(LinearProbeReport report, string dataset, string model, string pretrained) => new()
    {
        Dataset = dataset,
        Model = model,
        Pretrained = pretrained,
        Task = LinearProbeTask,
        Metrics =
        [
            new("lp_acc1", report.Metrics.Top1),
            new("lp_acc5", report.Dataset.NumClasses > 5 ? report.Metrics.Top5 : double.NaN),
            new("lp_mean_per_class_recall", report.Metrics.MeanPerClassRecall),
            new("weight_decay", report.WeightDecay),
            new("epochs", report.Options.Steps),
            new("seed", report.Options.Seed),
            new("fewshot_k", -1),
            new("normalized", report.Options.NormalizeFeatures),
        ],
    };

    /// <summary>The text CLIP_benchmark's <c>json.dump(dump, f)</c> writes for this result (no final newline).</summary>
    public string ToJson() => PythonJson.Serialize(new KeyValuePair<string, object?>[]
    {
        new("dataset", Dataset),
        new("model", Model),
        new("pretrained", Pretrained),
        new("task", Task),
        new("metrics", Metrics),
        new("language", Language),
    });

    /// <summary>Writes <see cref="ToJson"/> atomically, so a reader (a build step over a folder) never sees half of it.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>The dataset name CLIP_benchmark-format results use by default: a folder's name, or a file's name
    /// without its extension (captions.jsonl → "captions").</summary>
    public static string DefaultDatasetName(string dataPath)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataPath));
        return Directory.Exists(full) ? Path.GetFileName(full) : Path.GetFileNameWithoutExtension(full);
    }

    /// <summary>The model name by default: the model folder's name, or the weight file's name without its extensions
    /// (ViT-B-32.safetensors.gz → "ViT-B-32").</summary>
    public static string DefaultModelName(string modelPath)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelPath));
        if (Directory.Exists(full)) return Path.GetFileName(full);
        var name = Path.GetFileName(full);
        foreach (var extension in new[] { ".gz", ".safetensors", ".bin", ".pt", ".pth" })
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase)) name = name[..^extension.Length];
        return name;
    }
}
