using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>A Hugging Face <c>datasets</c> image folder with a metadata file: <c>metadata.jsonl</c> (one object per
/// line) or <c>metadata.csv</c> (a header row), each row naming an image in <c>file_name</c>, relative to the metadata
/// file's folder, and its class in a label column. Labels that are strings are class names, numbered in ordinal
/// order as ImageFolder numbers its folders; labels that are numbers are indices into a <c>classnames.txt</c> beside
/// the metadata file or in the folder above it (the split's dataset root). Images keep the order of the rows.</summary>
public static class HuggingFaceImageFolder
{
    public static IReadOnlyList<string> MetadataFiles { get; } = ["metadata.jsonl", "metadata.csv"];

    public const string FileNameColumn = "file_name";

    /// <summary>The metadata file of <paramref name="folder"/>, or null when it has none; both kinds at once is an error.</summary>
    public static string? FindMetadata(string folder)
    {
        var found = MetadataFiles.Select(name => Path.Combine(folder, name)).Where(File.Exists).ToList();
        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new DatasetException($"{folder}: has both {string.Join(" and ", MetadataFiles)}; keep one"),
        };
    }

    public static LabeledImageSet Load(string metadataPath, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var fullPath = Path.GetFullPath(metadataPath);
        if (!File.Exists(fullPath)) throw new DatasetException($"{fullPath}: metadata file not found");
        var folder = Path.GetDirectoryName(fullPath)!;
        var rows = fullPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? ReadCsv(fullPath, options.LabelColumn)
            : ReadJsonLines(fullPath, options.LabelColumn);
        if (rows.Count == 0) throw new DatasetException($"{fullPath}: no rows");

        var numeric = rows[0].Label.Number is not null;
        if (rows.FirstOrDefault(row => (row.Label.Number is not null) != numeric) is { } mixed)
            throw new DatasetException($"{fullPath}: line {mixed.Line}: column '{options.LabelColumn}' mixes class names and class indices");
        IReadOnlyList<string> classNames;
        string? classNamesPath = null;
        if (numeric)
        {
            classNamesPath = new[] { folder, Path.GetDirectoryName(folder)! }.Select(f => Path.Combine(f, ClipBenchmarkWebDataset.ClassNamesFile)).FirstOrDefault(File.Exists)
                ?? throw new DatasetException($"{fullPath}: column '{options.LabelColumn}' holds class indices; put the class names, one per line in index order, in {Path.Combine(folder, ClipBenchmarkWebDataset.ClassNamesFile)}");
            classNames = ClipBenchmarkWebDataset.ReadClassNames(classNamesPath);
        }
        else
            classNames = rows.Select(row => row.Label.Name!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var indexOfName = classNames.Select((name, index) => (name, index)).ToDictionary(pair => pair.name, pair => pair.index, StringComparer.Ordinal);

        var images = new List<LabeledImage>();
        var lineOfImage = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var where = $"{fullPath}: line {row.Line}";
            if (!options.AllowOutsideRoot && ContainedPath.Problem(folder, row.FileName) is { } problem)
                throw new DatasetException($"{where}: {FileNameColumn} '{row.FileName}' {problem}");
            var image = Path.GetFullPath(Path.Combine(folder, row.FileName));
            if (!File.Exists(image)) throw new DatasetException($"{where}: image file not found: {image}");
            if (!lineOfImage.TryAdd(image, row.Line))
                throw new DatasetException($"{where}: image '{row.FileName}' is already listed on line {lineOfImage[image]}");
            var label = row.Label.Number is { } number
                ? number >= 0 && number < classNames.Count ? (int)number
                    : throw new DatasetException($"{where}: class index {number} is outside 0..{classNames.Count - 1} ({classNamesPath} has {classNames.Count} classes)")
                : indexOfName[row.Label.Name!];
            images.Add(new LabeledImage(image, label));
        }
        return new LabeledImageSet(folder, classNames, images);
    }

    private sealed record Label(string? Name, long? Number);

    private sealed record Row(int Line, string FileName, Label Label);

    private static List<Row> ReadCsv(string path, string labelColumn)
    {
        var table = DelimitedTable.Read(path, ',');
        var fileColumn = table.Column(FileNameColumn, "it is the Hugging Face image folder's column of image paths");
        var label = table.Column(labelColumn, "choose the label column with --label-column");
        return table.Rows.Select(row =>
        {
            var name = row.Fields[label].Trim();
            if (name.Length == 0) throw new DatasetException($"{path}: line {row.Line}: empty '{labelColumn}'");
            if (row.Fields[fileColumn].Length == 0) throw new DatasetException($"{path}: line {row.Line}: empty '{FileNameColumn}'");
            // A CSV cell has no type: a label column of plain integers is read as class indices, as pandas reads it.
            return new Row(row.Line, row.Fields[fileColumn], long.TryParse(name, out var number) ? new Label(null, number) : new Label(name, null));
        }).ToList();
    }

    private static List<Row> ReadJsonLines(string path, string labelColumn)
    {
        var rows = new List<Row>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var where = $"{path}: line {lineNumber}";
            using (var document = JsonLines.Parse(where, line))
            {
                var entry = document.RootElement;
                if (entry.ValueKind != JsonValueKind.Object)
                    throw new DatasetException($"{where}: expected a JSON object with \"{FileNameColumn}\" and \"{labelColumn}\", found {entry.ValueKind}");
                if (!entry.TryGetProperty(FileNameColumn, out var file) || file.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(file.GetString()))
                    throw new DatasetException($"{where}: missing or empty \"{FileNameColumn}\" (the image path)");
                if (!entry.TryGetProperty(labelColumn, out var labelElement))
                    throw new DatasetException($"{where}: no \"{labelColumn}\" field (choose the label column with --label-column)");
                var label = labelElement.ValueKind switch
                {
                    JsonValueKind.String when !string.IsNullOrWhiteSpace(labelElement.GetString()) => new Label(labelElement.GetString()!.Trim(), null),
                    JsonValueKind.Number when labelElement.TryGetInt64(out var number) => new Label(null, number),
                    _ => throw new DatasetException($"{where}: \"{labelColumn}\" must be a class name or a class index, found {labelElement.ValueKind} {labelElement.GetRawText()}"),
                };
                rows.Add(new Row(lineNumber, file.GetString()!, label));
            }
        }
        return rows;
    }
}
