using System.CommandLine;
using Molyneux.Evaluation;

namespace Molyneux.Cli;

/// <summary>How <c>eval classify|retrieve|linear-probe</c> write <c>--json</c>: Molyneux's report
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

    /// <summary>Writes <paramref name="report"/> to <paramref name="output"/> in the chosen format;
    /// <paramref name="toClipBenchmark"/> maps it given (dataset, model, pretrained).</summary>
    public void Save<TReport>(ParseResult parse, string output, TReport report, string dataPath, string? modelPath,
        Func<TReport, string, string, string, ClipBenchmarkResult> toClipBenchmark) where TReport : EvaluationReport
    {
        if (parse.GetValue(Format) != ClipBenchmark)
        {
            report.Save(output);
            return;
        }
        var pretrained = modelPath ?? report.Model.Path ?? report.Model.ImageIdentity;
        var dataset = parse.GetValue(DatasetName) ?? ClipBenchmarkResult.DefaultDatasetName(dataPath);
        var model = parse.GetValue(ModelName) ?? (modelPath is null ? pretrained : ClipBenchmarkResult.DefaultModelName(modelPath));
        toClipBenchmark(report, dataset, model, pretrained).Save(output);
    }

    /// <summary>Refuses clip_benchmark-only settings that would otherwise be ignored in silence.</summary>
    public void Check(ParseResult parse, string? json)
    {
        var clipBenchmark = parse.GetValue(Format) == ClipBenchmark;
        if (clipBenchmark && json is null)
            throw new OptionException($"--format {ClipBenchmark}: also give --json FILE, the file to write the result to");
        if (!clipBenchmark && (parse.GetValue(DatasetName) is not null || parse.GetValue(ModelName) is not null))
            throw new OptionException($"--dataset-name and --model-name: only with --format {ClipBenchmark}");
    }
}
