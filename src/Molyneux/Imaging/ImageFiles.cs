namespace Molyneux.Imaging;

/// <summary>Which files count as images, and expanding folders into their image files.</summary>
public static class ImageFiles
{
    public static IReadOnlySet<string> Extensions { get; } =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp" };

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path));

    /// <summary>Image files directly inside a folder, in ordinal name order (stable across machines).</summary>
    public static IReadOnlyList<string> InFolder(string folder) =>
        Directory.EnumerateFiles(folder).Where(IsImage).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Files as given and folders replaced by the images in them; a path that is neither is an error.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> filesOrFolders)
    {
        var result = new List<string>();
        foreach (var path in filesOrFolders)
        {
            if (Directory.Exists(path))
            {
                var images = InFolder(path);
                if (images.Count == 0) throw new ImageException($"{path}: no image files ({string.Join(", ", Extensions)}) in this folder");
                result.AddRange(images);
            }
            else if (File.Exists(path)) result.Add(path);
            else throw new ImageException($"{path}: no such file or folder");
        }
        return result;
    }
}
