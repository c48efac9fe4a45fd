using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Evaluation;

/// <summary>Readers of the two JSON layouts COCO and Flickr30k captions come in: COCO's own
/// <c>captions_*.json</c> (<c>images[]</c> with <c>id</c> and <c>file_name</c>, <c>annotations[]</c> with
/// <c>image_id</c> and <c>caption</c>) and Karpathy's split files <c>dataset_*.json</c> (<c>images[]</c> with
/// <c>filename</c>, optional <c>filepath</c>, <c>split</c> and <c>sentences[].raw</c>). Image paths are relative to an
/// image root and must stay inside it unless allowed; captions are trimmed (COCO's carry stray spaces and line
/// breaks). The entry number of each <see cref="CaptionedImage"/> is its 1-based position in <c>images[]</c>.</summary>
public static class CocoCaptions
{
    /// <summary>Whether <paramref name="root"/> (a parsed JSON file) is COCO's layout: an object with <c>annotations</c>.</summary>
    public static bool IsCoco(JsonElement root) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty("annotations", out _);

    /// <summary>Whether <paramref name="root"/> is Karpathy's layout: an object whose <c>images</c> have <c>sentences</c>.</summary>
    public static bool IsKarpathy(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("images", out var images) && images.ValueKind == JsonValueKind.Array
        && images.EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } first && first.TryGetProperty("sentences", out _);

    /// <summary>COCO captions: images in the order of <c>images[]</c>, each with its captions in the order of
    /// <c>annotations[]</c>; images no annotation names are left out (they cannot be retrieved by any caption).</summary>
    public static CaptionsDataset LoadCoco(string path, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var (fullPath, imageRoot, document) = Open(path, options);
        using (document)
        {
            var root = document.RootElement;
            var images = Array(fullPath, root, "images");
            var fileOfId = new Dictionary<long, (string File, int Entry)>();
            var ids = new List<long>();
            var entry = 0;
            foreach (var image in images.EnumerateArray())
            {
                entry++;
                var where = $"{fullPath}: images[{entry - 1}]";
                var id = Integer(where, image, "id");
                var file = String(where, image, "file_name");
                if (!fileOfId.TryAdd(id, (file, entry))) throw new DatasetException($"{where}: image id {id} is already used by images[{fileOfId[id].Entry - 1}]");
                ids.Add(id);
            }
            var captionsOfId = new Dictionary<long, List<string>>();
            var index = 0;
            foreach (var annotation in Array(fullPath, root, "annotations").EnumerateArray())
            {
                var where = $"{fullPath}: annotations[{index++}]";
                var id = Integer(where, annotation, "image_id");
                if (!fileOfId.ContainsKey(id)) throw new DatasetException($"{where}: image_id {id} is not the id of any entry of images[]");
                var caption = String(where, annotation, "caption").Trim();
                if (caption.Length == 0) throw new DatasetException($"{where}: \"caption\" is blank");
                (captionsOfId.TryGetValue(id, out var list) ? list : captionsOfId[id] = []).Add(caption);
            }
            var result = ids.Where(captionsOfId.ContainsKey)
                .Select(id => new CaptionedImage(Resolve($"{fullPath}: images[{fileOfId[id].Entry - 1}]", imageRoot, fileOfId[id].File, options), captionsOfId[id], fileOfId[id].Entry))
                .ToList();
            if (result.Count == 0) throw new DatasetException($"{fullPath}: no image has an annotation");
            return CaptionsDataset.FromImages(fullPath, result);
        }
    }

    /// <summary>A Karpathy split file: the images of <paramref name="split"/> (all of them when null) in file order,
    /// each at <c>IMAGE_ROOT/filepath/filename</c> with its <c>sentences[].raw</c>.</summary>
    public static CaptionsDataset LoadKarpathy(string path, string? split, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var (fullPath, imageRoot, document) = Open(path, options);
        using (document)
        {
            var result = new List<CaptionedImage>();
            var splits = new SortedSet<string>(StringComparer.Ordinal);
            var entry = 0;
            foreach (var image in Array(fullPath, document.RootElement, "images").EnumerateArray())
            {
                entry++;
                var where = $"{fullPath}: images[{entry - 1}]";
                if (image.ValueKind != JsonValueKind.Object) throw new DatasetException($"{where}: expected an object, found {image.ValueKind}");
                var imageSplit = image.TryGetProperty("split", out var splitElement) && splitElement.ValueKind == JsonValueKind.String ? splitElement.GetString()! : null;
                if (imageSplit is not null) splits.Add(imageSplit);
                if (split is not null && imageSplit != split) continue;
                var file = String(where, image, "filename");
                var relative = image.TryGetProperty("filepath", out var folder) && folder.ValueKind == JsonValueKind.String
                    ? Path.Combine(folder.GetString()!, file) : file;
                var captions = new List<string>();
                var sentenceIndex = 0;
                foreach (var sentence in Array(where, image, "sentences").EnumerateArray())
                {
                    var raw = String($"{where}.sentences[{sentenceIndex++}]", sentence, "raw").Trim();
                    if (raw.Length == 0) throw new DatasetException($"{where}.sentences[{sentenceIndex - 1}]: \"raw\" is blank");
                    captions.Add(raw);
                }
                if (captions.Count == 0) throw new DatasetException($"{where}: \"sentences\" is empty; every image needs at least one caption");
                result.Add(new CaptionedImage(Resolve(where, imageRoot, relative, options), captions, entry));
            }
            if (result.Count == 0)
                throw new DatasetException(split is null ? $"{fullPath}: no images" : $"{fullPath}: no images in the split '{split}' (splits: {string.Join(", ", splits)})");
            return CaptionsDataset.FromImages(fullPath, result);
        }
    }

    private static (string FullPath, string ImageRoot, JsonDocument Document) Open(string path, DatasetReadOptions options)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new DatasetException($"{fullPath}: captions file not found");
        var imageRoot = Path.GetFullPath(options.ImageRoot ?? Path.GetDirectoryName(fullPath)!);
        return (fullPath, imageRoot, Parse(fullPath));
    }

    /// <summary>The file parsed, or a <see cref="DatasetException"/> with the line of the JSON error.</summary>
    public static JsonDocument Parse(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    private static string Resolve(string where, string imageRoot, string relative, DatasetReadOptions options)
    {
        if (!options.AllowOutsideRoot && ContainedPath.Problem(imageRoot, relative) is { } problem)
            throw new DatasetException($"{where}: image path '{relative}' {problem} (or allow paths outside the root)");
        var resolved = Path.GetFullPath(Path.Combine(imageRoot, relative));
        if (!File.Exists(resolved))
            throw new DatasetException($"{where}: image file not found: {resolved}{(options.ImageRoot is null ? " (images are looked for beside the JSON file; give their folder with --image-root)" : "")}");
        return resolved;
    }

    private static JsonElement Array(string where, JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? array
            : throw new DatasetException($"{where}: expected an array \"{name}\"");

    private static string String(string where, JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0
            ? value.GetString()!
            : throw new DatasetException($"{where}: expected a non-empty string \"{name}\"");

    private static long Integer(string where, JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw new DatasetException($"{where}: expected an integer \"{name}\"");
}
