namespace Molyneux.Worlds;

/// <summary>Which texts stand for the classes of a concept question.</summary>
public enum ConceptPrompts
{
    /// <summary>"a moongate": asks whether the model knows the word (after Knowledge Transfer).</summary>
    Names,

    /// <summary>The definitions: asks whether the model can recognise the description (before any transfer).</summary>
    Definitions,
}

/// <summary>A zero-shot classification question about shapes scenes: the classes, the images that belong to each
/// (those matching <see cref="ClassSpecs"/>) and prompt texts made only of words the pretraining captions use, so a
/// CLIP trained on those captions can answer it zero-shot.</summary>
public sealed class ShapesQuestion
{
    private ShapesQuestion(string name, IReadOnlyList<string> classes, IReadOnlyList<string> displayNames,
        IReadOnlyList<IReadOnlyList<string>> prompts, IReadOnlyList<ShapesSpec> classSpecs)
    {
        Name = name;
        Classes = classes;
        DisplayNames = displayNames;
        Prompts = prompts;
        ClassSpecs = classSpecs;
    }

    /// <summary>"color", "shape" or "concept".</summary>
    public string Name { get; }

    /// <summary>Class identifiers, usable as folder names: "red", "circle", "moongate".</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Human-readable class names: the word itself, or a concept's definition when the question asks by
    /// definition.</summary>
    public IReadOnlyList<string> DisplayNames { get; }

    /// <summary>Per class, the prompts to embed and average (prompt ensembling). A colour is asked through every
    /// shape ("a red circle", "a red square", …) and a shape through every colour, because captions always name both
    /// and a lone "red" never occurs in them.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Prompts { get; }

    /// <summary>What an image of each class shows; the specs of different classes never match the same scene.</summary>
    public IReadOnlyList<ShapesSpec> ClassSpecs { get; }

    public static ShapesQuestion Color { get; } = ByAttribute("color", Enum.GetValues<ShapeColor>(),
        color => new ShapesSpec { Color = color },
        color => Enum.GetValues<ShapeKind>().Select(shape => new ShapesSpec { Color = color, Shape = shape }));

    public static ShapesQuestion Shape { get; } = ByAttribute("shape", Enum.GetValues<ShapeKind>(),
        shape => new ShapesSpec { Shape = shape },
        shape => Enum.GetValues<ShapeColor>().Select(color => new ShapesSpec { Color = color, Shape = shape }));

    public static ShapesQuestion Concepts(IReadOnlyList<ShapesConcept> concepts, ConceptPrompts prompts)
    {
        if (concepts.Count < 2) throw new OptionException("a concept question needs at least two concepts");
        var byDefinition = prompts == ConceptPrompts.Definitions;
        return new("concept",
            concepts.Select(c => c.Name).ToArray(),
            concepts.Select(c => byDefinition ? c.Definition : c.Name).ToArray(),
            concepts.Select(c => (IReadOnlyList<string>)[byDefinition ? c.Definition : ShapesCaptions.Article(c.Name) + " " + c.Name]).ToArray(),
            concepts.Select(c => c.Spec).ToArray());
    }

    /// <summary>This question with only the classes <paramref name="possible"/> accepts, in their order.</summary>
    internal ShapesQuestion Keeping(Func<ShapesSpec, bool> possible)
    {
        var kept = Enumerable.Range(0, Classes.Count).Where(k => possible(ClassSpecs[k])).ToArray();
        if (kept.Length == Classes.Count) return this;
        if (kept.Length < 2) throw new OptionException($"the {Name} question keeps fewer than two classes in this world");
        return new(Name, kept.Select(k => Classes[k]).ToArray(), kept.Select(k => DisplayNames[k]).ToArray(),
            kept.Select(k => Prompts[k]).ToArray(), kept.Select(k => ClassSpecs[k]).ToArray());
    }

    /// <summary>The class a scene belongs to, or null when it belongs to none (a concept question's scene showing
    /// no listed concept).</summary>
    public int? LabelOf(ShapesAttributes attributes)
    {
        for (var k = 0; k < ClassSpecs.Count; k++)
            if (ClassSpecs[k].Matches(attributes)) return k;
        return null;
    }

    private static ShapesQuestion ByAttribute<T>(string name, T[] values, Func<T, ShapesSpec> classSpec,
        Func<T, IEnumerable<ShapesSpec>> promptSpecs) where T : struct, Enum
    {
        var words = values.Select(ShapesCaptions.Word).ToArray();
        return new(name, words, words,
            values.Select(v => (IReadOnlyList<string>)promptSpecs(v).Select(s => ShapesCaptions.Describe(s, CaptionChoices.Canonical)).ToArray()).ToArray(),
            values.Select(classSpec).ToArray());
    }
}
