using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>One image of a retrieval dataset with its captions; <paramref name="Line"/> is the 1-based line of the
/// captions file it came from, for messages.</summary>
public sealed record CaptionedImage(string ImagePath, IReadOnlyList<string> Captions, int Line);

/// <summary>An image-text retrieval dataset (Flickr30k / COCO style) read from JSON Lines: one object per line,
/// <c>{"image": "relative/path.jpg", "captions": ["...", ...]}</c>. Image paths are resolved against the folder of the
/// file and, unless <c>allowOutsideRoot</c> is set, must stay inside it, so a captions file cannot silently read
/// arbitrary files. Blank lines are skipped; every error names the file and the line.</summary>
public sealed class CaptionsDataset
{
    private CaptionsDataset(string path, IReadOnlyList<CaptionedImage> images)
    {
        Location = path;
        Images = images;
        Captions = images.SelectMany(image => image.Captions).ToList();
        CaptionImageIndices = images.SelectMany((image, index) => image.Captions.Select(_ => index)).ToArray();
    }

    /// <summary>The captions file.</summary>
    public string Location { get; }

    public IReadOnlyList<CaptionedImage> Images { get; }

    /// <summary>All captions flattened in file order: image 0's captions, then image 1's, and so on.</summary>
    public IReadOnlyList<string> Captions { get; }

    /// <summary>For each entry of <see cref="Captions"/>, the index of its image in <see cref="Images"/>.</summary>
    public IReadOnlyList<int> CaptionImageIndices { get; }

    public static CaptionsDataset Load(string path, bool allowOutsideRoot = false)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new DatasetException($"{fullPath}: captions file not found");
        var root = Path.GetDirectoryName(fullPath)!;

        var images = new List<CaptionedImage>();
        var lineOfImage = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in File.ReadLines(fullPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var image = ParseLine(fullPath, root, line, lineNumber, allowOutsideRoot);
            // A repeated image would be two retrieval targets that are really one, so text-to-image hits would depend on
            // which copy ranks first.
            if (lineOfImage.TryGetValue(image.ImagePath, out var firstLine))
                throw new DatasetException($"{fullPath}: line {lineNumber}: image '{image.ImagePath}' was already listed on line {firstLine}; put all its captions on one line");
            lineOfImage[image.ImagePath] = lineNumber;
            images.Add(image);
        }
        if (images.Count == 0)
            throw new DatasetException($"{fullPath}: no entries (expected one JSON object per line)");
        return new CaptionsDataset(fullPath, images);
    }

    /// <summary>A dataset of images another reader has already resolved and checked (COCO, Karpathy, CSV/TSV or
    /// webdataset, see <see cref="CaptionPairDatasets"/>); <paramref name="location"/> is the file or folder they came
    /// from. An image listed twice, or one without captions, is an error here too, for the reasons <see cref="Load"/>
    /// gives.</summary>
    public static CaptionsDataset FromImages(string location, IReadOnlyList<CaptionedImage> images)
    {
        if (images.Count == 0) throw new DatasetException($"{location}: no images with captions");
        var entryOfImage = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            if (image.Captions.Count == 0) throw new DatasetException($"{location}: entry {image.Line}: image '{image.ImagePath}' has no captions");
            if (!entryOfImage.TryAdd(image.ImagePath, image.Line))
                throw new DatasetException($"{location}: entry {image.Line}: image '{image.ImagePath}' was already listed as entry {entryOfImage[image.ImagePath]}");
        }
        return new CaptionsDataset(location, images);
    }

    private static CaptionedImage ParseLine(string file, string root, string line, int lineNumber, bool allowOutsideRoot)
    {
        var where = $"{file}: line {lineNumber}";
        using (var document = JsonLines.Parse(where, line))
        {
            var entry = document.RootElement;
            if (entry.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{where}: expected a JSON object with \"image\" and \"captions\", found {entry.ValueKind}");

            if (!entry.TryGetProperty("image", out var imageElement))
                throw new DatasetException($"{where}: missing field \"image\"");
            if (imageElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(imageElement.GetString()))
                throw new DatasetException($"{where}: field \"image\" must be a non-empty string");
            var relative = imageElement.GetString()!;

            if (!entry.TryGetProperty("captions", out var captionsElement))
                throw new DatasetException($"{where}: missing field \"captions\"");
            if (captionsElement.ValueKind != JsonValueKind.Array)
                throw new DatasetException($"{where}: field \"captions\" must be an array of strings, found {captionsElement.ValueKind}");
            var captions = new List<string>();
            foreach (var caption in captionsElement.EnumerateArray())
            {
                if (caption.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(caption.GetString()))
                    throw new DatasetException($"{where}: caption {captions.Count + 1} must be a non-empty string");
                captions.Add(caption.GetString()!);
            }
            if (captions.Count == 0)
                throw new DatasetException($"{where}: \"captions\" is empty; every image needs at least one caption");

            return new CaptionedImage(ResolveImage(where, root, relative, allowOutsideRoot), captions, lineNumber);
        }
    }

    private static string ResolveImage(string where, string root, string relative, bool allowOutsideRoot)
    {
        var resolved = Path.GetFullPath(Path.Combine(root, relative));
        if (!allowOutsideRoot && ContainedPath.Problem(root, relative) is { } problem)
            throw new DatasetException($"{where}: image path '{relative}' {problem} (or allow paths outside the root)");
        if (!File.Exists(resolved))
            throw new DatasetException($"{where}: image file not found: {resolved}");
        return resolved;
    }
}
