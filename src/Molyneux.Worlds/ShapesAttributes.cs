namespace Molyneux.Worlds;

public enum ShapeKind { Circle, Square, Triangle, Ring, Cross, Star, Heart, Diamond }

public enum ShapeColor { Red, Orange, Yellow, Green, Blue, Purple, Gray, White, Black }

/// <summary>A large shape fills 60% of the image side, a small one 36%. Two or three shapes are always small, so
/// that they fit side by side with a gap between them.</summary>
public enum ShapeSize { Small, Large }

/// <summary>Where a single shape sits; scenes with two or three shapes spread them over the image and have none.</summary>
public enum ShapePosition { Center, Left, Right, Top, Bottom }

/// <summary>Stripes and dots are drawn in a shade of the shape's own colour.</summary>
public enum ShapePattern { Solid, Striped, Dotted }

/// <summary>Everything a shapes scene shows: <paramref name="Count"/> equal shapes of one colour, size and pattern on
/// a background of another colour. <paramref name="Position"/> is null exactly when there are several shapes.</summary>
public sealed record ShapesAttributes(ShapeKind Shape, ShapeColor Color, ShapeSize Size, ShapeColor Background,
    ShapePattern Pattern, int Count, ShapePosition? Position);
