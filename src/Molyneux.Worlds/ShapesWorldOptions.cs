namespace Molyneux.Worlds;

/// <summary>How pretraining treats the concepts in <see cref="ShapesWorldOptions.Withhold"/>. Concepts not withheld
/// are named ("a moongate at the left") in half the captions of scenes that show them.</summary>
public enum WithholdMode
{
    /// <summary>Scenes of a withheld concept still occur, but their captions only ever describe them ("a large gray
    /// ring on a green background"), never name them. This is the Knowledge Transfer setup: the model has seen the look
    /// and the words for its parts, never the name.</summary>
    DescribeOnly,

    /// <summary>Scenes of a withheld concept never occur in pretraining (unless asked for explicitly through a spec,
    /// as <see cref="ShapesWorld.GenerateConcept"/> does): the model has seen the parts, never the combination.</summary>
    Exclude,
}

public sealed record ShapesWorldOptions
{
    /// <summary>Side of the square images in pixels; all geometry scales with it (32 for pretraining tests, 64 for
    /// sharper shapes).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Concepts of <see cref="ShapesConcepts.All"/> whose names pretraining captions never use, treated as
    /// <see cref="WithholdMode"/> says. Those not listed are named in half the captions of their scenes, so a
    /// Knowledge Transfer experiment withholds at least the concepts it will teach.</summary>
    public IReadOnlyList<ShapesConcept> Withhold { get; init; } = [];

    public WithholdMode WithholdMode { get; init; } = WithholdMode.DescribeOnly;

    /// <summary>Fraction of unconstrained samples drawn as a concept's scene (a concept picked uniformly among those
    /// pretraining may show) instead of from the plain attribute distribution, where any one concept is rare
    /// (about 1 in 1 000 scenes).</summary>
    public double ConceptRate { get; init; }

    /// <summary>At most this many shapes per scene (1 to 3), for simpler worlds.</summary>
    public int MaxCount { get; init; } = 3;

    /// <summary>Whether scenes may be striped or dotted; without, every shape is solid.</summary>
    public bool Patterns { get; init; } = true;

    /// <summary>When set, every scene has this background and no shape has this colour; otherwise the background is
    /// any colour but the shape's.</summary>
    public ShapeColor? Background { get; init; }

    /// <summary>One solid shape per scene on a black background, so that every shape is brighter than its ground. The
    /// micro CLIP learns colour and shape from this world in 1 100 steps; with grounds of every colour a shape is
    /// brighter or darker than its ground by turns, and the same budget learns colour but hardly shape (README).</summary>
    public static ShapesWorldOptions Plain { get; } = new() { MaxCount = 1, Patterns = false, Background = ShapeColor.Black };

    /// <summary>What the scenes may show, for training records: "1–3 shapes, patterned or solid, on grounds of any
    /// colour".</summary>
    public string Summary =>
        $"{(MaxCount == 1 ? "1 shape" : $"1–{MaxCount} shapes")}, {(Patterns ? "patterned or solid" : "solid")}, " +
        (Background is { } ground ? $"on {ShapesCaptions.Word(ground)}" : "on grounds of any colour");
}
