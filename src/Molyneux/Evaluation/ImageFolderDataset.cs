using System.Text.Json;
using Molyneux.Imaging;

namespace Molyneux.Evaluation;

/// <summary>A classification dataset laid out as <c>root/&lt;class folder&gt;/&lt;image&gt;</c> (torchvision's
/// ImageFolder). Class folders are sorted by ordinal name and images by ordinal file name, so class indices and image
/// order do not depend on the file system. Display names, in increasing priority: the folder's own name with '_'
/// turned into a space; the line of an optional <c>root/classnames.txt</c> (CLIP_benchmark's file: one name per line,
/// in class-folder order, one line for every folder); the entry of an optional <c>root/classes.json</c> object mapping
/// folder names to display names. So a folder exported from CLIP_benchmark reads as it does there, and a
/// classes.json beside it still renames the classes it names.</summary>
public sealed class ImageFolderDataset : ILabeledImageDataset
{
    public const string ClassNamesFile = "classes.json";

    /// <summary>CLIP_benchmark's class name list (datasets/builder.py reads it for its WebDataset folders).</summary>
    public const string ClassNamesListFile = "classnames.txt";

    private ImageFolderDataset(string root, IReadOnlyList<string> classFolders, IReadOnlyList<string> classNames, IReadOnlyList<LabeledImage> images)
    {
        Location = root;
        ClassFolders = classFolders;
        ClassNames = classNames;
        Images = images;
    }

    public string Location { get; }

    /// <summary>The class folder names, in class-index order.</summary>
    public IReadOnlyList<string> ClassFolders { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public IReadOnlyList<LabeledImage> Images { get; }

    public static ImageFolderDataset Load(string root) => Load(root, recursive: false);

    /// <param name="recursive">Also take images in sub-folders of each class folder (hidden ones excepted).</param>
    /// <param name="root">The folder with one sub-folder per class, named by the class.</param>
    public static ImageFolderDataset Load(string root, bool recursive)
    {
        var fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot))
            throw new DatasetException($"{fullRoot}: dataset folder not found");

        // Hidden folders (.git, .cache) are never classes.
        var folders = Directory.GetDirectories(fullRoot)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => !name.StartsWith('.'))
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();
        if (folders.Count == 0)
            throw new DatasetException($"{fullRoot}: no class folders (expected {fullRoot}/<class>/<image>)");

        var names = ReadClassNames(Path.Combine(fullRoot, ClassNamesFile), Path.Combine(fullRoot, ClassNamesListFile), folders);
        var images = new List<LabeledImage>();
        for (var index = 0; index < folders.Count; index++)
        {
            var folder = Path.Combine(fullRoot, folders[index]);
            var files = recursive ? ImagesBelow(folder) : ImageFiles.InFolder(folder);
            if (files.Count == 0)
                throw new DatasetException($"{folder}: class folder '{folders[index]}' has no images ({string.Join(", ", ImageFiles.Extensions)})");
            images.AddRange(files.Select(file => new LabeledImage(file, index)));
        }
        return new ImageFolderDataset(fullRoot, folders, names, images);
    }

    /// <summary>Image files at any depth below <paramref name="folder"/>, hidden files and folders excepted, in ordinal
    /// order of their paths relative to it with '/' separators, so the order is the same on every system.</summary>
    private static IReadOnlyList<string> ImagesBelow(string folder) =>
        Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(file => (File: file, Relative: Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(file => ImageFiles.IsImage(file.File) && !file.Relative.Split('/').Any(part => part.StartsWith('.')))
            .OrderBy(file => file.Relative, StringComparer.Ordinal)
            .Select(file => file.File)
            .ToArray();

    private static List<string> ReadClassNames(string path, string listPath, IReadOnlyList<string> folders)
    {
        var mapping = File.Exists(path) ? ReadMapping(path) : new Dictionary<string, string>();
        foreach (var folder in mapping.Keys)
            if (!folders.Contains(folder, StringComparer.Ordinal))
                throw new DatasetException($"{path}: names class folder '{folder}', which does not exist");
        var listed = File.Exists(listPath) ? ReadList(listPath, folders) : folders.Select(folder => folder.Replace('_', ' ')).ToList();

        var names = folders.Select((folder, index) => mapping.TryGetValue(folder, out var name) ? name : listed[index]).ToList();
        // Two classes with one name would get identical prompts, so neither could ever be told apart.
        var duplicate = names.GroupBy(name => name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            var source = string.Join(" and ", new[] { path, listPath }.Where(File.Exists).DefaultIfEmpty(Path.GetDirectoryName(path)!));
            throw new DatasetException($"{source}: more than one class folder has the display name '{duplicate.Key}'");
        }
        return names;
    }

    /// <summary>One name per line, trimmed (as CLIP_benchmark reads it), blank lines at the end ignored; the line
    /// count must be the folder count, since a shifted list would silently put every later name on the wrong class.</summary>
    private static List<string> ReadList(string path, IReadOnlyList<string> folders)
    {
        var lines = File.ReadAllLines(path).Select(line => line.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var blank = lines.FindIndex(line => line.Length == 0);
        if (blank >= 0)
            throw new DatasetException($"{path}: line {blank + 1} is empty (expected one class name per line)");
        if (lines.Count != folders.Count)
            throw new DatasetException($"{path}: {lines.Count} class names for {folders.Count} class folders (one line per folder, in the folders' sorted order: {string.Join(", ", folders.Take(5))}{(folders.Count > 5 ? ", …" : "")})");
        return lines;
    }

    private static Dictionary<string, string> ReadMapping(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{path}: expected a JSON object mapping class folder names to display names, found {document.RootElement.ValueKind}");
            var mapping = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                    throw new DatasetException($"{path}: the display name of '{property.Name}' is {property.Value.ValueKind}, expected a string");
                var name = property.Value.GetString()!;
                if (string.IsNullOrWhiteSpace(name))
                    throw new DatasetException($"{path}: the display name of '{property.Name}' is empty");
                mapping[property.Name] = name;
            }
            return mapping;
        }
    }
}
