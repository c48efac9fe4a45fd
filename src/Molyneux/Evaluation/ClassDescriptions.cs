using System.Text.Json;

namespace Molyneux.Evaluation;

/// <summary>Descriptors per class for classification by description (Menon &amp; Vondrick 2023, "Visual
/// Classification via Description from Large Language Models"): a JSON object
/// <c>{ "class name": ["descriptor", ...], ... }</c>. Each descriptor becomes one prompt through a descriptor template
/// such as <see cref="DefaultTemplate"/>, and a class is scored from its descriptor prompts as from template prompts.</summary>
public sealed class ClassDescriptions
{
    /// <summary>The prompt of one descriptor; <c>{class}</c> and <c>{descriptor}</c> are replaced.</summary>
    public const string DefaultTemplate = "{class}, which has {descriptor}";

    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> descriptors;

    private ClassDescriptions(string path, IReadOnlyDictionary<string, IReadOnlyList<string>> descriptors)
    {
        Location = path;
        this.descriptors = descriptors;
    }

    /// <summary>The descriptions file.</summary>
    public string Location { get; }

    public static ClassDescriptions Load(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new DatasetException($"{fullPath}: descriptions file not found");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(fullPath));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{fullPath}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{fullPath}: expected a JSON object mapping class names to arrays of descriptors, found {document.RootElement.ValueKind}");
            var descriptors = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Array)
                    throw new DatasetException($"{fullPath}: the descriptors of '{property.Name}' are {property.Value.ValueKind}, expected an array of strings");
                var list = new List<string>();
                foreach (var item in property.Value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                        throw new DatasetException($"{fullPath}: descriptor {list.Count + 1} of '{property.Name}' must be a non-empty string");
                    list.Add(item.GetString()!);
                }
                if (list.Count == 0)
                    throw new DatasetException($"{fullPath}: '{property.Name}' has no descriptors");
                descriptors[property.Name] = list;
            }
            return new ClassDescriptions(fullPath, descriptors);
        }
    }

    /// <summary>Checks that a descriptor template names both placeholders, so every prompt differs per descriptor and
    /// per class.</summary>
    private static void ValidateTemplate(string template)
    {
        foreach (var placeholder in new[] { "{class}", "{descriptor}" })
            if (!template.Contains(placeholder, StringComparison.Ordinal))
                throw new OptionException($"descriptor template '{template}' has no {placeholder} placeholder");
    }

    /// <summary>The descriptor prompts of each class, in class order and then file order. Every class must be
    /// described; the error lists all that are not.</summary>
    public IReadOnlyList<IReadOnlyList<string>> PromptsFor(IReadOnlyList<string> classNames, string template)
    {
        ValidateTemplate(template);
        var missing = classNames.Where(name => !this.descriptors.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new DatasetException($"{Location}: no descriptors for class{(missing.Count > 1 ? "es" : "")} {string.Join(", ", missing.Select(name => $"'{name}'"))}");
        return classNames
            .Select(name => (IReadOnlyList<string>)this.descriptors[name]
                .Select(descriptor => template.Replace("{class}", name, StringComparison.Ordinal).Replace("{descriptor}", descriptor, StringComparison.Ordinal))
                .ToList())
            .ToList();
    }
}
