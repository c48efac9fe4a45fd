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
