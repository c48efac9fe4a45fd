using System.Globalization;

namespace Molyneux.Evaluation;

/// <summary>A classification dataset in CLIP_benchmark's webdataset layout: <c>ROOT/classnames.txt</c> (one display
/// name per line, in class-index order), optionally <c>ROOT/zeroshot_classification_templates.txt</c> (one template per
/// line, <c>{c}</c> for the class), and tar shards <c>ROOT/&lt;split&gt;/*.tar</c> whose samples are an image
/// (<c>KEY.webp</c>, <c>.jpg</c>, <c>.png</c>…) and its class index (<c>KEY.cls</c>, a decimal number).</summary>
public static class ClipBenchmarkWebDataset
{
    public const string ClassNamesFile = "classnames.txt";
    public const string TemplatesFile = "zeroshot_classification_templates.txt";

    /// <summary>Reads the shards of <paramref name="shardFolder"/> with the class names and templates of
    /// <paramref name="root"/>; shards are unpacked into <paramref name="cache"/> (see <see cref="WebDatasetShards"/>).</summary>
    public static LabeledImageSet Load(string root, string shardFolder, string cache)
    {
        var classNamesPath = Path.Combine(root, ClassNamesFile);
        if (!File.Exists(classNamesPath))
            throw new DatasetException($"{classNamesPath}: not found; a webdataset classification folder needs its class names, one per line in class-index order");
        var classNames = ReadClassNames(classNamesPath);
        var shards = WebDatasetShards.InFolder(shardFolder);
        if (shards.Count == 0) throw new DatasetException($"{shardFolder}: no .tar shards");

        var images = new List<LabeledImage>();
        foreach (var sample in WebDatasetShards.Read(shards, cache))
        {
            var image = sample.Image();
            var text = sample.Text("cls")
                       ?? throw new DatasetException($"{sample.Shard}: sample '{sample.Key}' has no label member '{sample.Key}.cls' (it has {sample.Members()})");
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var label) || label >= classNames.Count)
                throw new DatasetException($"{sample.Shard}: '{sample.Key}.cls' holds '{text}', expected a class index from 0 to {classNames.Count - 1} ({classNamesPath} has {classNames.Count} classes)");
            images.Add(new LabeledImage(image, label));
        }
        if (images.Count == 0) throw new DatasetException($"{shardFolder}: the shards hold no samples");
        var templates = Path.Combine(root, TemplatesFile);
        return new LabeledImageSet(shardFolder, classNames, images, File.Exists(templates) ? templates : null);
    }

    /// <summary>Class names one per line, trimmed; trailing blank lines are ignored, other blank lines and repeated names
    /// (two classes that no prompt could tell apart) are errors.</summary>
    public static IReadOnlyList<string> ReadClassNames(string path)
    {
        var lines = File.ReadAllLines(path).Select(line => line.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) throw new DatasetException($"{path}: no class names");
        var lineOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) throw new DatasetException($"{path}: line {i + 1} is blank; every class needs a name");
            if (!lineOfName.TryAdd(lines[i], i + 1))
                throw new DatasetException($"{path}: line {i + 1}: the class name '{lines[i]}' is already on line {lineOfName[lines[i]]}");
        }
        return lines;
    }
}
