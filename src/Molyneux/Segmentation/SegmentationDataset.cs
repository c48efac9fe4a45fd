using System.Text.Json;
using Molyneux.Evaluation;

namespace Molyneux.Segmentation;

/// <summary>One image of a segmentation dataset, its ground-truth mask file and its class.</summary>
public sealed record SegmentationSample(string ImagePath, string MaskPath, int Label);

/// <summary>Images with a binary mask each, by class: <c>root/images/&lt;class&gt;/&lt;name&gt;.&lt;ext&gt;</c> (an image
/// folder as <c>eval classify</c> reads it, with its optional <c>classes.json</c> of display names) and
/// <c>root/masks/&lt;class&gt;/&lt;name&gt;.png</c> beside it, 0 = background, 255 = the object the class names. What
/// <c>molyneux data shapes --masks</c> writes. Masks are read when they are scored, so a bad one is reported by name
/// then.</summary>
public sealed class SegmentationDataset
{
    public const string ImagesFolder = "images", MasksFolder = "masks";

    private SegmentationDataset(string location, ImageFolderDataset images, IReadOnlyList<SegmentationSample> samples)
    {
        Location = location;
        ClassFolders = images.ClassFolders;
        ClassNames = images.ClassNames;
        Samples = samples;
    }

    public string Location { get; }

    public IReadOnlyList<string> ClassFolders { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public IReadOnlyList<SegmentationSample> Samples { get; }

    public static SegmentationDataset Load(string root)
    {
        var location = Path.GetFullPath(root);
        if (!Directory.Exists(location)) throw new DatasetException($"{location}: segmentation dataset folder not found");
        var imagesRoot = Path.Combine(location, ImagesFolder);
        if (!Directory.Exists(imagesRoot))
            throw new DatasetException($"{location}: has no {ImagesFolder}/ folder (expected {ImagesFolder}/<class>/<image> and {MasksFolder}/<class>/<image>.png)");
        var images = ImageFolderDataset.Load(imagesRoot);
        var samples = images.Images.Select(image =>
        {
            var relative = Path.GetRelativePath(imagesRoot, image.Path);
            var mask = Path.Combine(location, MasksFolder, Path.ChangeExtension(relative, ".png"));
            if (!File.Exists(mask)) throw new DatasetException($"{image.Path}: has no mask (expected {mask})");
            return new SegmentationSample(image.Path, mask, image.ClassIndex);
        }).ToList();
        return new SegmentationDataset(location, images, samples);
    }

    /// <summary>The prompt of every class, in class order: the class's entry in <paramref name="promptsFile"/> (a
    /// JSON object from class folder to text, which must name every class and nothing else) when given, otherwise
    /// <paramref name="template"/> with "{}" replaced by the display name.</summary>
    public IReadOnlyList<string> Prompts(string? promptsFile, string template)
    {
        if (promptsFile is null)
        {
            if (!template.Contains("{}", StringComparison.Ordinal)) throw new OptionException($"prompt template '{template}': has no {{}} for the class name");
            return ClassNames.Select(name => template.Replace("{}", name, StringComparison.Ordinal)).ToList();
        }
        Dictionary<string, string>? prompts;
        try
        {
            prompts = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(promptsFile));
        }
        catch (Exception error) when (error is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{promptsFile}: not a JSON object from class folder to prompt: {error.Message}", error);
        }
        if (prompts is null) throw new DatasetException($"{promptsFile}: not a JSON object from class folder to prompt");
        if (prompts.Keys.FirstOrDefault(folder => !ClassFolders.Contains(folder)) is { } stranger)
            throw new DatasetException($"{promptsFile}: names class '{stranger}', which {Path.Combine(Location, ImagesFolder)} does not have");
        return ClassFolders.Select(folder => prompts.TryGetValue(folder, out var text) && !string.IsNullOrWhiteSpace(text)
            ? text
            : throw new DatasetException($"{promptsFile}: has no prompt for class '{folder}'")).ToList();
    }
}
