using System.Text.Json;
using Molyneux.Imaging;

namespace Molyneux.Evaluation;

/// <summary>A classification dataset laid out as <c>root/&lt;class folder&gt;/&lt;image&gt;</c> (torchvision's
/// ImageFolder). Class folders are sorted by ordinal name and images by ordinal file name, so class indices and image
/// order do not depend on the file system. Display names come from an optional <c>root/classes.json</c> object mapping
/// folder names to display names; folders it does not name use their own name with '_' turned into a space.</summary>
public sealed class ImageFolderDataset : ILabeledImageDataset
{
    public const string ClassNamesFile = "classes.json";

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

    public static ImageFolderDataset Load(string root)
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

        var names = ReadClassNames(Path.Combine(fullRoot, ClassNamesFile), folders);
        var images = new List<LabeledImage>();
        for (var index = 0; index < folders.Count; index++)
        {
            var folder = Path.Combine(fullRoot, folders[index]);
            var files = ImageFiles.InFolder(folder);
            if (files.Count == 0)
                throw new DatasetException($"{folder}: class folder '{folders[index]}' has no images ({string.Join(", ", ImageFiles.Extensions)})");
            images.AddRange(files.Select(file => new LabeledImage(file, index)));
        }
        return new ImageFolderDataset(fullRoot, folders, names, images);
    }

    private static List<string> ReadClassNames(string path, IReadOnlyList<string> folders)
    {
        var mapping = File.Exists(path) ? ReadMapping(path) : new Dictionary<string, string>();
        foreach (var folder in mapping.Keys)
            if (!folders.Contains(folder, StringComparer.Ordinal))
                throw new DatasetException($"{path}: names class folder '{folder}', which does not exist");

        var names = folders.Select(folder => mapping.TryGetValue(folder, out var name) ? name : folder.Replace('_', ' ')).ToList();
        // Two classes with one name would get identical prompts, so neither could ever be told apart.
        var duplicate = names.GroupBy(name => name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new DatasetException($"{path}: more than one class folder has the display name '{duplicate.Key}'");
        return names;
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
