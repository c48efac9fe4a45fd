namespace Molyneux.KnowledgeTransfer;

/// <summary>What a fine-tuning caption says about the concept: the paper's caption (name and description) or one of
/// its two ablations (<c>--caption name+description|name|description</c>).</summary>
public enum CaptionMode
{
    NameAndDescription,
    Name,
    Description,
}

/// <summary>The texts a concept is fine-tuned with. The caption of an image synthesized for a concept is the
/// paper's "A {name} is {description}": the description alone would not tell the model which word it defines.
///
/// The article follows the name's first letter: "an" before a vowel letter (a, e, i, o, u), "a" otherwise, so
/// "An okapi is …". It is a spelling rule, not a pronunciation one ("an unicorn", "a hour"); since CLIP's tokenizer
/// lower-cases every text, the capital at the start of the sentence changes nothing the model sees. The description
/// is used as given (trimmed), full stop included or not.</summary>
public static class ConceptCaptions
{
    public static CaptionMode ParseMode(string value) => value switch
    {
        "name+description" => CaptionMode.NameAndDescription,
        "name" => CaptionMode.Name,
        "description" => CaptionMode.Description,
        _ => throw new OptionException($"--caption: '{value}' is not a caption mode (expected name+description, name or description)"),
    };

    /// <summary>"A {name} is {description}", "a {name}" or "{description}", by <paramref name="mode"/>.</summary>
    public static string Caption(string name, string description, CaptionMode mode = CaptionMode.NameAndDescription)
    {
        name = name.Trim();
        description = description.Trim();
        if (name.Length == 0) throw new OptionException("the concept's name is empty");
        if (description.Length == 0 && mode != CaptionMode.Name) throw new OptionException($"the description of '{name}' is empty");
        var article = Article(name);
        return mode switch
        {
            CaptionMode.NameAndDescription => $"{char.ToUpperInvariant(article[0])}{article[1..]} {name} is {description}",
            CaptionMode.Name => $"{article} {name}",
            CaptionMode.Description => description,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
        };
    }

    /// <summary>"an" before a name that starts with a vowel letter, else "a".</summary>
    public static string Article(string name) => "aeiou".Contains(char.ToLowerInvariant(name.TrimStart()[0])) ? "an" : "a";
}
