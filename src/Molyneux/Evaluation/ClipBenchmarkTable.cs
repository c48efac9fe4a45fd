using System.Text;
using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>CLIP_benchmark's <c>build</c> step (<c>molyneux eval build</c>): many CLIP_benchmark-format result files
/// (<see cref="ClipBenchmarkResult"/>, Molyneux's or CLIP_benchmark's own) merged into one CSV table, one row per file.
/// A row is built as CLIP_benchmark builds it: the file's metrics, then its top-level fields (dataset, model,
/// pretrained, task, language and any other, such as classnames; a top-level field wins over a metric of the same
/// name), then <c>model_fullname</c> = model + " " + pretrained. The columns are every field of any row; CLIP_benchmark
/// writes them in Python set order, which changes from run to run, so here they come in the order first seen, and a
/// field a row lacks is an empty cell. Cells are what Python's csv module writes: <c>str()</c> of the value (floats as
/// repr, NaN as "nan", True/False, None empty), quoted only when they hold a comma, a quote or a line break, rows
/// ended by "\r\n".</summary>
public sealed class ClipBenchmarkTable
{
    private ClipBenchmarkTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<KeyValuePair<string, object?>>> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    public IReadOnlyList<string> Columns { get; }

    /// <summary>Each file's fields in the order CLIP_benchmark's row dict holds them.</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, object?>>> Rows { get; }

    /// <summary>Reads every result file of <paramref name="paths"/>: a file as given, a folder as its *.json files
    /// (sorted by name, not recursive), as CLIP_benchmark's build accepts both.</summary>
    /// <exception cref="DatasetException">A path does not exist, a folder has no *.json file, or a file is not a
    /// CLIP_benchmark result; the message names the file.</exception>
    public static ClipBenchmarkTable Build(IEnumerable<string> paths)
    {
        var rows = new List<IReadOnlyList<KeyValuePair<string, object?>>>();
        var columns = new List<string>();
        foreach (var file in ResultFiles(paths))
        {
            var row = ReadRow(file);
            foreach (var (key, _) in row)
                if (!columns.Contains(key)) columns.Add(key);
            rows.Add(row);
        }
        if (rows.Count == 0) throw new DatasetException("eval build: no result files given");
        return new ClipBenchmarkTable(columns, rows);
    }

    public static IReadOnlyList<string> ResultFiles(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                var found = Directory.GetFiles(full, "*.json").OrderBy(name => name, StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new DatasetException($"{full}: folder has no *.json result files");
                files.AddRange(found);
            }
            else if (File.Exists(full)) files.Add(full);
            else throw new DatasetException($"{full}: result file not found");
        }
        return files;
    }

    /// <summary>The table as CSV text, header first.</summary>
    public string ToCsv()
    {
        var builder = new StringBuilder();
        AppendLine(builder, Columns);
        foreach (var row in Rows)
        {
            var cells = row.ToDictionary(pair => pair.Key, pair => PythonJson.Str(pair.Value));
            AppendLine(builder, Columns.Select(column => cells.GetValueOrDefault(column, "")));
        }
        return builder.ToString();
    }

    /// <summary>Writes <see cref="ToCsv"/> atomically: a table being rebuilt is never seen half written.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToCsv());

    private static List<KeyValuePair<string, object?>> ReadRow(string path)
    {
        using var document = PythonJson.Parse(File.ReadAllText(path), path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new DatasetException($"{path}: not a CLIP_benchmark result (expected a JSON object, found {root.ValueKind})");
        if (!root.TryGetProperty("metrics", out var metrics) || metrics.ValueKind != JsonValueKind.Object)
            throw new DatasetException($"{path}: not a CLIP_benchmark result (no \"metrics\" object)");

        var row = new List<KeyValuePair<string, object?>>();
        void Set(string key, object? value)
        {
            var at = row.FindIndex(pair => pair.Key == key);
            if (at >= 0) row[at] = new(key, value);
            else row.Add(new(key, value));
        }
        foreach (var metric in metrics.EnumerateObject()) Set(metric.Name, PythonJson.ToValue(metric.Value));
        foreach (var field in root.EnumerateObject()) Set(field.Name, PythonJson.ToValue(field.Value));
        row.RemoveAll(pair => pair.Key == "metrics");

        string Text(string field) =>
            row.FirstOrDefault(pair => pair.Key == field).Value as string
            ?? throw new DatasetException($"{path}: not a CLIP_benchmark result (\"{field}\" is missing or not a string)");
        Set("model_fullname", Text("model") + " " + Text("pretrained"));
        return row;
    }

    private static void AppendLine(StringBuilder builder, IEnumerable<string> cells)
    {
        builder.Append(string.Join(",", cells.Select(Quote)));
        builder.Append("\r\n");
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}
