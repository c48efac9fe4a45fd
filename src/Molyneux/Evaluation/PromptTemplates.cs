using System.Reflection;

namespace Molyneux.Evaluation;

/// <summary>A set of prompt templates for zero-shot classification, one prompt per template and class. A template
/// holds the class name's place with <c>{}</c> or <c>{c}</c> (open_clip / CLIP_benchmark spelling).
///
/// Built-in sets are text files embedded in the assembly (Evaluation/Templates/*.txt) in the same format a user file
/// uses: one template per line, <c>#</c> starts a comment line, blank lines are skipped.
/// <list type="bullet">
/// <item><c>openai_imagenet</c>: OpenAI's 80 ImageNet templates, exactly as open_clip's OPENAI_IMAGENET_TEMPLATES.</item>
/// <item><c>simple</c>: open_clip's 7 SIMPLE_IMAGENET_TEMPLATES.</item>
/// <item><c>name</c>: the bare class name.</item>
/// <item><c>a_photo</c>: "a photo of a {}."</item>
/// </list>
/// There is no <c>knowledge_transfer</c> set: the 26 templates in the appendix of Barbano et al. 2024 ("Knowledge
/// Transfer Across Modalities with Natural Language Supervision", arXiv 2411.15611) could not be retrieved verbatim
/// when this was written, and a guessed list would silently mislabel results. Add the file once the exact list is
/// at hand (and name it in <see cref="BuiltInNames"/>).</summary>
public sealed class PromptTemplates
{
    public static IReadOnlyList<string> BuiltInNames { get; } = ["openai_imagenet", "simple", "name", "a_photo"];

    private static readonly string[] Placeholders = ["{c}", "{}"];

    private PromptTemplates(string name, IReadOnlyList<string> templates)
    {
        Name = name;
        Templates = templates;
    }

    /// <summary>The built-in name, or the full path of the file the templates came from.</summary>
    public string Name { get; }

    public IReadOnlyList<string> Templates { get; }

    /// <summary>Resolves a built-in name first, then a file path; an error names <paramref name="option"/>.</summary>
    public static PromptTemplates Load(string nameOrPath, string option = "--templates")
    {
        if (BuiltInNames.Contains(nameOrPath, StringComparer.Ordinal))
            return new PromptTemplates(nameOrPath, Parse($"built-in template set '{nameOrPath}'", ReadBuiltIn(nameOrPath)));
        if (File.Exists(nameOrPath))
        {
            var fullPath = Path.GetFullPath(nameOrPath);
            return new PromptTemplates(fullPath, Parse(fullPath, File.ReadAllText(fullPath)));
        }
        throw new OptionException($"{option}: '{nameOrPath}' is neither a built-in template set ({string.Join(", ", BuiltInNames)}) nor an existing file");
    }

    /// <summary>The prompt of one template for one class name.</summary>
    public static string Fill(string template, string className) =>
        template.Replace("{c}", className, StringComparison.Ordinal).Replace("{}", className, StringComparison.Ordinal);

    /// <summary>The prompts of each class, in class order and then template order.</summary>
    public IReadOnlyList<IReadOnlyList<string>> PromptsFor(IReadOnlyList<string> classNames) =>
        classNames.Select(name => (IReadOnlyList<string>)Templates.Select(template => Fill(template, name)).ToList()).ToList();

    private static bool HasPlaceholder(string template) =>
        Placeholders.Any(placeholder => template.Contains(placeholder, StringComparison.Ordinal));

    private static List<string> Parse(string source, string text)
    {
        var templates = new List<string>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            // Only line ends are trimmed: leading or trailing spaces inside a template change its tokens.
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')) continue;
            if (!HasPlaceholder(line))
                throw new DatasetException($"{source}: line {i + 1}: template '{line}' has no {{}} or {{c}} placeholder for the class name");
            templates.Add(line);
        }
        if (templates.Count == 0)
            throw new DatasetException($"{source}: no templates (one per line, with {{}} or {{c}} for the class name)");
        return templates;
    }

    private static string ReadBuiltIn(string name)
    {
        var resource = $"Molyneux.Evaluation.Templates.{name}.txt";
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
