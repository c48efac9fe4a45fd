namespace Molyneux.Worlds;

/// <summary>One object of an object scene (<see cref="ShapesObjectScene"/>): a single shape of one colour, size and
/// pattern. Unlike <see cref="ShapesAttributes"/>, which describes a whole scene of equal shapes, it leaves the
/// background and the position to the scene.</summary>
public sealed record ShapesObject(ShapeKind Shape, ShapeColor Color, ShapeSize Size, ShapePattern Pattern)
{
    /// <summary>The object in the words pretraining captions use, as the commonest captions say it: size always,
    /// pattern unless solid ("a small striped yellow star", "a large red circle").</summary>
    public string Description =>
        ShapesCaptions.Describe(new ShapesSpec { Shape = Shape, Color = Color, Size = Size, Pattern = Pattern, Count = 1 }, CaptionChoices.Canonical);
}

/// <summary>An invented word for one object ("dworple" = "a large striped orange circle"), to be found among
/// distractor objects: the prompt of zero-shot segmentation. It fixes all four attributes of the object, so the
/// definition says exactly what to look for; the scene's background is left free.</summary>
public sealed class ShapesObjectConcept
{
    public ShapesObjectConcept(string name, ShapesObject target)
    {
        if (name.Length == 0 || !name.All(char.IsAsciiLetterLower))
            throw new OptionException($"object concept name '{name}': expected lowercase ASCII letters only");
        Name = name;
        Object = target;
        Definition = target.Description;
    }

    public string Name { get; }

    public ShapesObject Object { get; }

    /// <summary>What the name means, in caption words and without the name: "a large striped orange circle".</summary>
    public string Definition { get; }

    public override string ToString() => $"{Name}: {Definition}";
}

/// <summary>The object concepts of the shapes world. Their names are nonsense words, none of them a name of
/// <see cref="ShapesConcepts.All"/>, and every one has its own (shape, colour) pair, none shared with a scene concept
/// either, so that a name never also fits another concept's object. Sizes and patterns are mixed.</summary>
public static class ShapesObjectConcepts
{
    public static IReadOnlyList<ShapesObjectConcept> All { get; } =
    [
        new("dworple", new(ShapeKind.Circle, ShapeColor.Orange, ShapeSize.Large, ShapePattern.Striped)),
        new("plovix", new(ShapeKind.Square, ShapeColor.Red, ShapeSize.Small, ShapePattern.Solid)),
        new("zintaro", new(ShapeKind.Triangle, ShapeColor.Blue, ShapeSize.Large, ShapePattern.Dotted)),
        new("kestrov", new(ShapeKind.Star, ShapeColor.Purple, ShapeSize.Small, ShapePattern.Striped)),
        new("wumbrel", new(ShapeKind.Heart, ShapeColor.Yellow, ShapeSize.Large, ShapePattern.Solid)),
        new("flenwick", new(ShapeKind.Cross, ShapeColor.Green, ShapeSize.Small, ShapePattern.Dotted)),
        new("yarbolt", new(ShapeKind.Diamond, ShapeColor.Red, ShapeSize.Small, ShapePattern.Striped)),
        new("quenzo", new(ShapeKind.Ring, ShapeColor.Purple, ShapeSize.Large, ShapePattern.Solid)),
    ];

    /// <summary>Ordinary objects to segment by their definitions, never taught: the reference set on which Knowledge
    /// Transfer must not make segmentation worse (its forgetting). Each has a (shape, colour) pair of its own, none of
    /// <see cref="All"/>'s, so its description never fits a taught concept's object; the names are only folder names
    /// (colour and shape run together).</summary>
    public static IReadOnlyList<ShapesObjectConcept> Reference { get; } =
    [
        new("greencircle", new(ShapeKind.Circle, ShapeColor.Green, ShapeSize.Large, ShapePattern.Solid)),
        new("bluesquare", new(ShapeKind.Square, ShapeColor.Blue, ShapeSize.Small, ShapePattern.Striped)),
        new("redtriangle", new(ShapeKind.Triangle, ShapeColor.Red, ShapeSize.Large, ShapePattern.Solid)),
        new("yellowstar", new(ShapeKind.Star, ShapeColor.Yellow, ShapeSize.Small, ShapePattern.Dotted)),
        new("whiteheart", new(ShapeKind.Heart, ShapeColor.White, ShapeSize.Large, ShapePattern.Striped)),
        new("orangecross", new(ShapeKind.Cross, ShapeColor.Orange, ShapeSize.Small, ShapePattern.Solid)),
        new("graydiamond", new(ShapeKind.Diamond, ShapeColor.Gray, ShapeSize.Large, ShapePattern.Dotted)),
        new("bluering", new(ShapeKind.Ring, ShapeColor.Blue, ShapeSize.Small, ShapePattern.Solid)),
    ];

    public static ShapesObjectConcept ByName(string name) =>
        All.FirstOrDefault(concept => concept.Name == name)
        ?? throw new OptionException($"unknown shapes object concept '{name}' (known: {string.Join(", ", All.Select(c => c.Name))})");
}
