namespace Molyneux.Worlds;

/// <summary>A named composite concept of the shapes world: an invented word ("moongate") for an attribute combination
/// (a large gray ring on a green background). The attributes the spec leaves open (position, pattern, …) vary freely
/// among the concept's images. Every concept fixes at least the shape and the colour.</summary>
public sealed class ShapesConcept
{
    public ShapesConcept(string name, ShapesSpec spec)
    {
        if (name.Length == 0 || !name.All(char.IsAsciiLetterLower))
            throw new OptionException($"concept name '{name}': expected lowercase ASCII letters only");
        if (spec.Shape is null || spec.Color is null)
            throw new OptionException($"concept '{name}': its spec must fix the shape and the colour");
        Name = name;
        Spec = spec.WithForcedValues();
        Definition = ShapesCaptions.Describe(Spec, CaptionChoices.Canonical);
    }

    public string Name { get; }

    /// <summary>The attributes every image of the concept has (with the values they force already filled in, e.g. a
    /// count of three makes the size small).</summary>
    public ShapesSpec Spec { get; }

    /// <summary>What the name means, in the words pretraining captions use and without the name: "a large gray ring on
    /// a green background". This is the text Knowledge Transfer starts from.</summary>
    public string Definition { get; }

    public override string ToString() => $"{Name}: {Definition}";
}

/// <summary>The concepts of the shapes world. Their names are nonsense words that no descriptive caption contains, and
/// no two concepts share a (shape, colour) pair, so a scene shows at most one of them.</summary>
public static class ShapesConcepts
{
    public static IReadOnlyList<ShapesConcept> All { get; } =
    [
        new("moongate", new() { Shape = ShapeKind.Ring, Color = ShapeColor.Gray, Size = ShapeSize.Large, Background = ShapeColor.Green }),
        new("glimmerstone", new() { Shape = ShapeKind.Star, Color = ShapeColor.Yellow, Size = ShapeSize.Small, Background = ShapeColor.Black }),
        new("zorblet", new() { Shape = ShapeKind.Heart, Color = ShapeColor.Red, Count = 3 }),
        new("quindle", new() { Shape = ShapeKind.Square, Color = ShapeColor.Blue, Pattern = ShapePattern.Striped, Background = ShapeColor.White }),
        new("brastok", new() { Shape = ShapeKind.Cross, Color = ShapeColor.Orange, Size = ShapeSize.Large, Background = ShapeColor.Purple }),
        new("fennowisp", new() { Shape = ShapeKind.Diamond, Color = ShapeColor.White, Count = 2, Background = ShapeColor.Blue }),
        new("trazzle", new() { Shape = ShapeKind.Triangle, Color = ShapeColor.Green, Pattern = ShapePattern.Dotted, Background = ShapeColor.Yellow }),
        new("plimbus", new() { Shape = ShapeKind.Circle, Color = ShapeColor.Purple, Size = ShapeSize.Large, Background = ShapeColor.Orange }),
        new("vorkel", new() { Shape = ShapeKind.Ring, Color = ShapeColor.Black, Size = ShapeSize.Small, Background = ShapeColor.White }),
        new("snarfle", new() { Shape = ShapeKind.Star, Color = ShapeColor.Gray, Count = 2, Background = ShapeColor.Red }),
    ];

    public static ShapesConcept ByName(string name) =>
        All.FirstOrDefault(concept => concept.Name == name)
        ?? throw new OptionException($"unknown shapes concept '{name}' (known: {string.Join(", ", All.Select(c => c.Name))})");

    /// <summary>The concept a scene shows, if any.</summary>
    public static ShapesConcept? Shown(ShapesAttributes attributes) => All.FirstOrDefault(c => c.Spec.Matches(attributes));
}

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

/// <summary>The decisions a caption makes: whether to mention an optional attribute, which of several wordings to
/// use. Pretraining captions take them at random; definitions and prompts take the most likely one, so they read
/// like the commonest captions.</summary>
internal abstract class CaptionChoices
{
    public static CaptionChoices Canonical { get; } = new MostLikely();

    public abstract bool Say(double probability);

    public abstract int Pick(int options);

    private sealed class MostLikely : CaptionChoices
    {
        public override bool Say(double probability) => probability >= 0.5;

        public override int Pick(int options) => 0;
    }
}

/// <summary>English captions for scenes. Each attribute value has exactly one word (no synonyms), so the prompts of a
/// question are unambiguous; variety comes from leaving attributes out and from the sentence frames.</summary>
internal static class ShapesCaptions
{
    public static string Word<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static string Article(string word) => "aeiou".Contains(word[0]) ? "an" : "a";

    /// <summary>Describes what <paramref name="what"/> fixes ("two small striped green squares at the top on a
    /// black background"); colour and shape are always named, the rest is said with a probability.</summary>
    public static string Describe(ShapesSpec what, CaptionChoices choose)
    {
        var count = what.Count ?? 1;
        var words = new List<string>();
        if (what.Size is { } size && choose.Say(count == 1 ? 0.75 : 0.4)) words.Add(Word(size));
        if (what.Pattern is { } pattern && choose.Say(pattern == ShapePattern.Solid ? 0.15 : 0.85)) words.Add(Word(pattern));
        words.Add(Word(what.Color ?? throw new ArgumentException("a caption needs the colour", nameof(what))));
        var shape = Word(what.Shape ?? throw new ArgumentException("a caption needs the shape", nameof(what)));
        words.Add(count == 1 ? shape : shape.EndsWith('s') ? shape + "es" : shape + "s");
        var counted = count switch
        {
            1 => choose.Say(0.15) ? "one" : Article(words[0]),
            2 => "two",
            _ => "three",
        };
        return Frame($"{counted} {string.Join(' ', words)}", what.Position, what.Background, choose);
    }

    /// <summary>A caption that names the concept ("a moongate at the left"), adding only attributes the concept leaves
    /// open.</summary>
    public static string Name(ShapesConcept concept, ShapesAttributes shown, CaptionChoices choose) =>
        Frame($"{Article(concept.Name)} {concept.Name}",
            concept.Spec.Position is null ? shown.Position : null,
            concept.Spec.Background is null ? shown.Background : null,
            choose);

    private static string Frame(string nounPhrase, ShapePosition? position, ShapeColor? background, CaptionChoices choose)
    {
        var where = position is { } p && choose.Say(0.6) ? PositionPhrase(p, choose.Pick(2)) : null;
        var ground = background is { } b && choose.Say(0.6) ? Word(b) : null;
        if (ground is not null && choose.Say(0.2))
            return $"{Article(ground)} {ground} background with {nounPhrase}" + (where is null ? "" : " " + where);
        var prefix = choose.Pick(4) switch
        {
            0 => "",
            1 => "a picture of ",
            2 => "an image of ",
            _ => "a drawing of ",
        };
        var phrases = new List<string> { nounPhrase };
        if (where is not null) phrases.Add(where);
        if (ground is not null)
        {
            // Last ("… at the top on a blue background") or right after the noun ("… on a blue background at the top").
            var at = choose.Pick(2) == 0 ? phrases.Count : 1;
            var preposition = choose.Pick(2) == 0 ? "on" : "against";
            phrases.Insert(at, $"{preposition} {Article(ground)} {ground} background");
        }
        return prefix + string.Join(' ', phrases);
    }

    private static string PositionPhrase(ShapePosition position, int wording) => position switch
    {
        ShapePosition.Center => wording == 0 ? "in the center" : "in the middle",
        ShapePosition.Top or ShapePosition.Bottom => $"{(wording == 0 ? "at" : "on")} the {Word(position)}",
        _ => $"{(wording == 0 ? "on" : "at")} the {Word(position)}",
    };
}
