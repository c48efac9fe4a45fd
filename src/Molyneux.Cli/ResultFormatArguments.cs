using System.CommandLine;
using Molyneux.Evaluation;

namespace Molyneux.Cli;

/// <summary>What <c>eval classify|retrieve|linear-probe</c> write with <c>--json [FILE]</c>: Molyneux's report
/// (docs/evaluation-report.md) or LAION CLIP_benchmark's result dict, with the names that dict needs.</summary>
public sealed class ResultFormatArguments
{
    public const string Molyneux = "molyneux", ClipBenchmark = "clip_benchmark";

    public Option<string> Format { get; } = CreateFormat();

    public Option<string?> DatasetName { get; } = new("--dataset-name") { Description = "clip_benchmark: the result's \"dataset\" (default: the data folder's or file's name)" };

    public Option<string?> ModelName { get; } = new("--model-name") { Description = "clip_benchmark: the result's \"model\" (default: the model folder's or file's name); \"pretrained\" is the model path" };

    private static Option<string> CreateFormat()
    {
        var format = new Option<string>("--format") { Description = $"--json as {Molyneux} (the full report) or {ClipBenchmark} (CLIP_benchmark's result dict)", DefaultValueFactory = _ => Molyneux };
        format.AcceptOnlyFromAmong(Molyneux, ClipBenchmark);
        return format;
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Format, DatasetName, ModelName }) command.Options.Add(option);
    }

    /// <summary>Writes <paramref name="report"/> in the chosen format where --json says (<see cref="JsonOutputOption.Write"/>;
    /// a clip_benchmark file byte for byte as CLIP_benchmark's json.dump, without a final newline); true when it went to
    /// stdout. <paramref name="toClipBenchmark"/> maps the report given (dataset, model, pretrained).</summary>
    public bool Write<TReport>(ParseResult parse, CliContext context, JsonOutputOption json, TReport report, string dataPath, string? modelPath,
        Func<TReport, string, string, string, ClipBenchmarkResult> toClipBenchmark) where TReport : EvaluationReport =>
        json.Write(parse, context, () => Json(parse, report, dataPath, modelPath, toClipBenchmark), fileEndsWithNewline: parse.GetValue(Format) != ClipBenchmark);

    /// <summary>The JSON of <paramref name="report"/> in the chosen format.</summary>
    private string Json<TReport>(ParseResult parse, TReport report, string dataPath, string? modelPath,
        Func<TReport, string, string, string, ClipBenchmarkResult> toClipBenchmark) where TReport : EvaluationReport
    {
        if (parse.GetValue(Format) != ClipBenchmark) return report.ToJson();
        var pretrained = modelPath ?? report.Model.Path ?? report.Model.ImageIdentity;
        var dataset = parse.GetValue(DatasetName) ?? ClipBenchmarkResult.DefaultDatasetName(dataPath);
        var model = parse.GetValue(ModelName) ?? (modelPath is null ? pretrained : ClipBenchmarkResult.DefaultModelName(modelPath));
        return toClipBenchmark(report, dataset, model, pretrained).ToJson();
    }

    /// <summary>Refuses clip_benchmark-only settings that would otherwise be ignored in silence, and --format
    /// clip_benchmark without --json, which would compute the result and show none of it.</summary>
    public void Check(ParseResult parse, JsonOutputOption json)
    {
        var clipBenchmark = parse.GetValue(Format) == ClipBenchmark;
        if (clipBenchmark && !json.Given(parse))
            throw new OptionException($"--format {ClipBenchmark}: also give --json FILE to write the result to, or --json alone to print it");
        if (!clipBenchmark && (parse.GetValue(DatasetName) is not null || parse.GetValue(ModelName) is not null))
            throw new OptionException($"--dataset-name and --model-name: only with --format {ClipBenchmark}");
    }
}
