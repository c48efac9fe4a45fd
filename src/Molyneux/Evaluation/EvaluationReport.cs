using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>The JSON result of an evaluation, documented field by field in docs/evaluation-report.md. Names are
/// snake_case; every field is always written (null where it does not apply), so readers can rely on the shape of a
/// given <see cref="SchemaVersion"/>. Bump <see cref="CurrentSchemaVersion"/> on any change other than an added
/// field.</summary>
public abstract record EvaluationReport
{
    public const int CurrentSchemaVersion = 1;

    private static JsonSerializerOptions JsonOptions => SnakeCaseJson.Strict;

    [JsonPropertyOrder(-4)]
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>"classification", "retrieval" or "linear_probe"; tells <see cref="Load"/> which record to read.</summary>
    [JsonPropertyOrder(-3)]
    public abstract string Kind { get; }

    [JsonPropertyOrder(-2)]
    public required DateTime CreatedUtc { get; init; }

    [JsonPropertyOrder(-1)]
    public required ModelInfo Model { get; init; }

    /// <summary>The software, device and threads that produced the numbers; null in reports written before it was
    /// recorded.</summary>
    [JsonPropertyOrder(100)]
    public RunEnvironment? Environment { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, GetType(), JsonOptions);

    /// <summary>Writes the report atomically, so a reader never sees half of it.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");

    /// <summary>Reads a report written by <see cref="Save"/>, as a <see cref="ClassificationReport"/>, a
    /// <see cref="RetrievalReport"/> or a <see cref="LinearProbeReport"/> according to its kind.</summary>
    public static EvaluationReport Load(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new DatasetException($"{fullPath}: report not found");
        try
        {
            var text = File.ReadAllText(fullPath);
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{fullPath}: not an evaluation report (expected a JSON object)");
            if (!root.TryGetProperty("schema_version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != CurrentSchemaVersion)
                throw new DatasetException($"{fullPath}: unsupported schema_version (this version reads {CurrentSchemaVersion})");
            var kind = root.TryGetProperty("kind", out var kindElement) && kindElement.ValueKind == JsonValueKind.String ? kindElement.GetString() : null;
            Type type = kind switch
            {
                ClassificationReport.KindName => typeof(ClassificationReport),
                RetrievalReport.KindName => typeof(RetrievalReport),
                LinearProbeReport.KindName => typeof(LinearProbeReport),
                _ => throw new DatasetException($"{fullPath}: unknown report kind '{kind}', expected '{ClassificationReport.KindName}', '{RetrievalReport.KindName}' or '{LinearProbeReport.KindName}'"),
            };
            return (EvaluationReport)(JsonSerializer.Deserialize(text, type, JsonOptions)
                ?? throw new DatasetException($"{fullPath}: empty report"));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{fullPath}: invalid report at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }
}

/// <summary>What was evaluated. The identities are the encoders' content hashes; for CLIP both are the same.</summary>
public sealed record ModelInfo(string? Path, string ImageIdentity, string TextIdentity);

public sealed record ClassificationDatasetInfo(string Path, int NumImages, int NumClasses);

public sealed record ClassificationOptionsInfo(
    string? Templates,
    int? NumTemplates,
    TemplateEnsemble Ensemble,
    string? DescriptionsFile,
    string? DescriptorTemplate,
    IReadOnlyList<string>? Classes,
    float? LogitScale,
    int MostConfusedLimit);

public sealed record ClassificationMetricsInfo(double Top1, double Top5, double MeanPerClassRecall);

public sealed record ClassificationReport : EvaluationReport
{
    public const string KindName = "classification";

    [JsonPropertyOrder(-3)]
    public override string Kind => KindName;

    public required ClassificationDatasetInfo Dataset { get; init; }

    public required ClassificationOptionsInfo Options { get; init; }

    public required ClassificationMetricsInfo Metrics { get; init; }

    public required IReadOnlyList<ClassAccuracy> PerClass { get; init; }

    public required IReadOnlyList<ConfusedPair> MostConfused { get; init; }

    /// <summary>Set when an ASIF index classified (<c>molyneux asif classify</c>); null for CLIP.</summary>
    public AsifInfo? Asif { get; init; }
}

/// <summary>The ASIF settings of a classification and, when an unknown threshold was set, its outcome.</summary>
/// <param name="Storage">"fp32", "fp16" or "int8": how the anchor embeddings were stored.</param>
/// <param name="Index">The full path of the ASIF index file used, so the result can be reproduced.</param>
/// <param name="NumAnchors">Anchor pairs in the index.</param>
/// <param name="NonZeros">k: the similarities kept in each relative representation.</param>
/// <param name="Exponent">p: the exponent applied to the kept similarities.</param>
/// <param name="ClampNegatives">Whether negative similarities were set to 0 before the exponent.</param>
/// <param name="Unknown">The unknown threshold's settings and outcome; null when none was set.</param>
public sealed record AsifInfo(string Index, int NumAnchors, string Storage, int NonZeros, double Exponent, bool ClampNegatives, UnknownAnswerInfo? Unknown);

/// <summary>Answers "unknown" when the best class scores below <paramref name="Threshold"/>. The three fractions are
/// of all images and add up to 1.</summary>
/// <param name="CalibrationSet">The labelled images the threshold was chosen on; null when it was given.</param>
/// <param name="MaxWrong">The target: at most this fraction of the calibration images answered may be wrong.</param>
/// <param name="Threshold">The best class's score below which the answer is "unknown".</param>
/// <param name="Accuracy">The fraction of images answered with their true class.</param>
/// <param name="Unknown">The fraction answered "unknown".</param>
/// <param name="Wrong">The fraction answered with a wrong class.</param>
public sealed record UnknownAnswerInfo(double Threshold, string? CalibrationSet, double? MaxWrong, double Accuracy, double Unknown, double Wrong);

public sealed record RetrievalDatasetInfo(string Path, int NumImages, int NumCaptions);

public sealed record RetrievalReport : EvaluationReport
{
    public const string KindName = "retrieval";

    [JsonPropertyOrder(-3)]
    public override string Kind => KindName;

    public required RetrievalDatasetInfo Dataset { get; init; }

    public required RetrievalMetrics Metrics { get; init; }

    /// <summary>Both recalls at each k of <see cref="RetrievalOptions.RecallK"/> (<c>--recall-k</c>), for the
    /// CLIP_benchmark format (<see cref="ClipBenchmarkResult.FromRetrieval"/>). Not part of the JSON report, whose
    /// schema keeps the fixed recalls at 1, 5 and 10 (<see cref="Metrics"/>), nor of the report's value: a report read
    /// back has none and still equals the one saved.</summary>
    [JsonIgnore]
    public IReadOnlyList<RecallAtK> RecallAtK { get; init; } = [];

    public bool Equals(RetrievalReport? other) => base.Equals(other) && Dataset == other.Dataset && Metrics == other.Metrics;

    public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Dataset, Metrics);
}
