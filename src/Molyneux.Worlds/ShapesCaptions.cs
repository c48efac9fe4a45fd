namespace Molyneux.Worlds;

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
