namespace Molyneux.Worlds;

/// <summary>A partial description of scenes: the attributes it sets are fixed, the others free. Used to ask the world
/// for particular scenes and to define concepts and question classes.</summary>
public sealed record ShapesSpec
{
    public ShapeKind? Shape { get; init; }
    public ShapeColor? Color { get; init; }
    public ShapeSize? Size { get; init; }
    public ShapeColor? Background { get; init; }
    public ShapePattern? Pattern { get; init; }
    public int? Count { get; init; }
    public ShapePosition? Position { get; init; }

    public bool Matches(ShapesAttributes a) =>
        (Shape is null || Shape == a.Shape) && (Color is null || Color == a.Color) && (Size is null || Size == a.Size)
        && (Background is null || Background == a.Background) && (Pattern is null || Pattern == a.Pattern)
        && (Count is null || Count == a.Count) && (Position is null || Position == a.Position);

    /// <summary>Whether every scene this spec allows also matches <paramref name="other"/> (both with forced values
    /// filled in).</summary>
    internal bool Implies(ShapesSpec other) =>
        (other.Shape is null || other.Shape == Shape) && (other.Color is null || other.Color == Color)
        && (other.Size is null || other.Size == Size) && (other.Background is null || other.Background == Background)
        && (other.Pattern is null || other.Pattern == Pattern) && (other.Count is null || other.Count == Count)
        && (other.Position is null || other.Position == Position);

    /// <summary>Checks the spec is satisfiable and fills in the values it forces: several shapes are small and have
    /// no position; a large shape or a position means a single shape. With the forced values explicit,
    /// <see cref="Implies"/> is exact, which withholding relies on.</summary>
    internal ShapesSpec WithForcedValues()
    {
        if (Count is < 1 or > 3) throw new OptionException($"shapes spec {this}: count must be 1, 2 or 3");
        if (Color is not null && Color == Background) throw new OptionException($"shapes spec {this}: the background must differ from the shape's colour");
        if (Count > 1 && (Size == ShapeSize.Large || Position is not null))
            throw new OptionException($"shapes spec {this}: two or three shapes are always small and have no position");
        if (Count > 1) return this with { Size = ShapeSize.Small };
        if (Size == ShapeSize.Large || Position is not null) return this with { Count = 1 };
        return this;
    }
}
