using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;

namespace Molyneux.KnowledgeTransfer;

/// <summary>A concept as a concepts file describes it: its name, one or more descriptions of what it looks like, and
/// optionally where real images of it are (<c>Molyneux.Worlds.ConceptSources</c>: a folder, <c>emoji:&lt;short name&gt;</c> or
/// <c>shapes:&lt;concept&gt;</c>), which only commands that measure the concept need.</summary>
public sealed record DescribedConcept(string Name, IReadOnlyList<string> Descriptions, string? Images = null)
{
    /// <summary>The description that image <paramref name="image"/> (from 0) of a concept is inverted from and
    /// captioned with: the images are dealt out over the descriptions in turn, so each description gets an equal
    /// share (±1).</summary>
    public static string OfImage(IReadOnlyList<string> descriptions, int image) => descriptions[image % descriptions.Count];

    /// <summary><see cref="OfImage"/> for every image of every concept, concept by concept.</summary>
    public static IReadOnlyList<string> OfImages(IEnumerable<IReadOnlyList<string>> descriptionsPerConcept, int imagesPerConcept) =>
        descriptionsPerConcept.SelectMany(descriptions => Enumerable.Range(0, imagesPerConcept).Select(i => OfImage(descriptions, i))).ToList();
}

/// <summary>Reads the Knowledge Transfer concepts file, a JSON array of concepts:
/// <c>[{"name": "moongate", "description": "a large gray ring", "images": "real/moongate"}]</c>, or with
/// <c>"descriptions": ["…", "…"]</c> in place of <c>"description"</c>. Format: docs/concepts-file.md.</summary>
public static partial class ConceptsFile
{
    /// <summary>How an <c>images</c> entry names a world's images instead of a folder: <c>emoji:&lt;short name&gt;</c>,
    /// <c>shapes:&lt;concept&gt;</c>.</summary>
    public const string EmojiPrefix = "emoji:", ShapesPrefix = "shapes:";

    /// <summary>Whether an <c>images</c> entry names a folder (rather than emoji or shapes-world images).</summary>
    public static bool IsFolder(string spec) =>
        !spec.StartsWith(EmojiPrefix, StringComparison.Ordinal) && !spec.StartsWith(ShapesPrefix, StringComparison.Ordinal);

    public static IReadOnlyList<DescribedConcept> Read(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: no such concepts file");
        using var stream = File.OpenRead(path);
        return Read(stream, path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Reads concepts from <paramref name="stream"/>, named <paramref name="source"/> in errors. Image
    /// folders must lie inside <paramref name="root"/> (the file's folder); null skips that check, for lists built
    /// into Molyneux.</summary>
    public static IReadOnlyList<DescribedConcept> Read(Stream stream, string source, string? root = null)
    {
        List<Entry>? entries;
        try
        {
            entries = JsonSerializer.Deserialize(stream, ConceptsJsonContext.Default.ListEntry);
        }
        catch (JsonException error)
        {
            throw new DatasetException($"{source}: {error.Message}", error);
        }
        if (entries is null || entries.Count == 0) throw new DatasetException($"{source}: no concepts");
        var concepts = entries.Select((entry, i) => Validate(entry, $"{source}: {Which(entry, i)}", root)).ToList();
        // CLIP's tokenizer lower-cases, so names differing only in case are one concept to the model.
        var repeated = concepts.GroupBy(concept => concept.Name.Trim(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(group => group.Count() > 1);
        if (repeated is not null)
            throw new DatasetException($"{source}: concept '{repeated.Key}' is listed {repeated.Count()} times; each concept must appear once");
        return concepts;
    }

    private static string Which(Entry entry, int index) =>
        string.IsNullOrWhiteSpace(entry.Name) ? $"concept {index + 1}" : $"concept {index + 1} ('{entry.Name}')";

    private static DescribedConcept Validate(Entry entry, string where, string? root)
    {
        if (string.IsNullOrWhiteSpace(entry.Name)) throw new DatasetException($"{where}: \"name\" is empty");
        IReadOnlyList<string> descriptions = (entry.Description, entry.Descriptions) switch
        {
            (null, null) => throw new DatasetException($"{where}: needs \"description\" (one text) or \"descriptions\" (a list)"),
            ({ }, { }) => throw new DatasetException($"{where}: has both \"description\" and \"descriptions\"; give one of them"),
            ({ } one, null) => string.IsNullOrWhiteSpace(one) ? throw new DatasetException($"{where}: \"description\" is empty") : [one],
            (null, { } many) => many,
        };
        if (descriptions.Count == 0) throw new DatasetException($"{where}: \"descriptions\" is empty");
        for (var k = 0; k < descriptions.Count; k++)
            if (string.IsNullOrWhiteSpace(descriptions[k]))
                throw new DatasetException($"{where}: description {k + 1} of \"descriptions\" is empty");
        if (entry.Images is { } images)
        {
            if (string.IsNullOrWhiteSpace(images)) throw new DatasetException($"{where}: \"images\" is empty");
            if (root is not null && IsFolder(images) && ContainedPath.Problem(root, images) is { } problem)
                throw new DatasetException($"{where}: images folder '{images}' {problem}");
        }
        return new DescribedConcept(entry.Name, descriptions, entry.Images);
    }

    /// <summary>The concepts with their descriptions cut to a CLIP's context (the overload below), each cut reported to
    /// <paramref name="warnings"/>; unchanged for other models, whose tokenizers (BERT's, a CoCa's) truncate on their own.</summary>
    /// <param name="concepts">The concepts as the file gives them.</param>
    /// <param name="model">The model that will read the descriptions.</param>
    /// <param name="warnings">Where each cut is reported.</param>
    public static IReadOnlyList<DescribedConcept> FitDescriptions(IReadOnlyList<DescribedConcept> concepts, IVisionLanguageModel model, IProgress<string>? warnings = null) =>
        model is ClipPipeline clip ? FitDescriptions(concepts, clip.Tokenizer, clip.Model.Config.Text.MaxPositionEmbeddings, warnings) : concepts;

    /// <summary>The concepts with every description that does not fit in <paramref name="contextLength"/> tokens
    /// (start and end tokens included) cut after its last whole word that does, each cut reported to
    /// <paramref name="warnings"/>: CLIP would silently drop the tail, and a concept taught from part of its
    /// description should not go unnoticed.</summary>
    public static IReadOnlyList<DescribedConcept> FitDescriptions(IReadOnlyList<DescribedConcept> concepts, ClipTokenizer tokenizer, int contextLength,
        IProgress<string>? warnings = null) =>
        concepts.Select(concept => concept with
        {
            Descriptions = concept.Descriptions.Select((description, k) =>
                Fit(description, concept.Descriptions.Count == 1 ? "the description" : $"description {k + 1}", concept.Name, tokenizer, contextLength, warnings)).ToList(),
        }).ToList();

    private static string Fit(string description, string which, string name, ClipTokenizer tokenizer, int contextLength, IProgress<string>? warnings)
    {
        var budget = contextLength - 2;
        var total = tokenizer.Encode(description).Length;
        if (total <= budget) return description;
        // Whitespace separates pre-tokens, so a word's tokens do not depend on its neighbours.
        var (kept, used) = (new List<string>(), 0);
        foreach (var word in description.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            used += tokenizer.Encode(word).Length;
            if (used > budget) break;
            kept.Add(word);
        }
        if (kept.Count == 0)
            throw new DatasetException($"concept '{name}': the first word of {which} alone is longer than the context of {contextLength} tokens");
        var fitted = string.Join(' ', kept);
        warnings?.Report($"concept '{name}': {which} has {total} tokens, more than the {budget} that fit in the context " +
                         $"of {contextLength}; truncated to \"{fitted}\"");
        return fitted;
    }

    /// <summary>One concept as written in the file, before validation.</summary>
    internal sealed record Entry(string Name, string? Description = null, List<string>? Descriptions = null, string? Images = null);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true)]
    [JsonSerializable(typeof(List<Entry>))]
    internal sealed partial class ConceptsJsonContext : JsonSerializerContext;
}
