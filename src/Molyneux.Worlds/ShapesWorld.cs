using System.Text.Json;
using Molyneux.Runtime;

namespace Molyneux.Worlds;

/// <summary>A procedural world of coloured shapes with compositional captions, for pretraining a tiny CLIP from
/// scratch and for Knowledge Transfer experiments on invented concepts (<see cref="ShapesConcepts"/>).
///
/// Sample (index, seed) is a pure function of its arguments and the options: every sample has its own SplitMix64
/// stream, the painter uses only exact IEEE arithmetic, so the same seed gives bit-identical images and captions on
/// every machine. Held-out sets are samples of another seed. Attributes are drawn uniformly (background among the
/// colours other than the shape's), except: one shape half of the time, else two or three; patterns solid half of
/// the time, else striped or dotted.</summary>
public sealed class ShapesWorld
{
    private readonly HashSet<string> withheld;
    private readonly ShapesSpec unconstrained;

    /// <summary>Specs of the concepts <see cref="ShapesWorldOptions.ConceptRate"/> draws from: those this world's
    /// options allow, less those excluded.</summary>
    private readonly ShapesSpec[] pretrainingConcepts;

    public ShapesWorld(ShapesWorldOptions? options = null)
    {
        Options = options ?? new ShapesWorldOptions();
        if (Options.ImageSize < 16) throw new OptionException($"shapes image size {Options.ImageSize}: must be at least 16 pixels");
        if (Options.MaxCount is < 1 or > 3) throw new OptionException($"shapes max count {Options.MaxCount}: must be 1, 2 or 3");
        if (Options.ConceptRate is < 0 or > 1 || double.IsNaN(Options.ConceptRate))
            throw new OptionException($"shapes concept rate {Options.ConceptRate}: must be between 0 and 1");
        if (Options.Withhold.FirstOrDefault(c => !ShapesConcepts.All.Contains(c)) is { } stranger)
            throw new OptionException($"cannot withhold concept '{stranger.Name}': only the concepts of ShapesConcepts.All occur in pretraining");
        withheld = Options.Withhold.Select(c => c.Name).ToHashSet();
        unconstrained = Checked(new ShapesSpec());
        pretrainingConcepts = ShapesConcepts.All
            .Where(c => !(Options.WithholdMode == WithholdMode.Exclude && withheld.Contains(c.Name)) && Conflict(c.Spec) is null)
            .Select(c => Checked(c.Spec))
            .ToArray();
    }

    public ShapesWorldOptions Options { get; }

    /// <summary>The colour words captions use, in <see cref="ShapeColor"/> order.</summary>
    public static IReadOnlyList<string> Colors { get; } = Enum.GetValues<ShapeColor>().Select(ShapesCaptions.Word).ToArray();

    /// <summary>The shape words captions use (singular), in <see cref="ShapeKind"/> order.</summary>
    public static IReadOnlyList<string> Shapes { get; } = Enum.GetValues<ShapeKind>().Select(ShapesCaptions.Word).ToArray();

    /// <summary>Sample <paramref name="index"/> of the stream <paramref name="seed"/>. Without <paramref name="given"/>
    /// it comes from the pretraining distribution (withholding and <see cref="ShapesWorldOptions.ConceptRate"/>
    /// applied); with it, the scene matches <paramref name="given"/> and the other attributes are drawn as usual.
    /// In <see cref="WithholdMode.Exclude"/> the scenes of withheld concepts are still avoided, unless
    /// <paramref name="given"/> itself asks for one.</summary>
    public ShapesSample Sample(int index, int seed, ShapesSpec? given = null)
    {
        var random = new SplitMix64(seed, index);
        var spec = given is null ? PretrainingSpec(random) : Checked(given);
        ShapesAttributes attributes;
        do attributes = Draw(spec, random);
        while (IsExcluded(attributes, spec));

        var (radius, centers) = Layout(attributes, random);
        var color = Jitter(ShapesPainter.BaseColor(attributes.Color), random);
        var background = Jitter(ShapesPainter.BaseColor(attributes.Background), random);
        var rgb = ShapesPainter.Paint(Options.ImageSize, background, attributes.Shape, attributes.Pattern, color, radius, centers);

        var concept = ShapesConcepts.Shown(attributes);
        var caption = concept is not null && !withheld.Contains(concept.Name) && random.Chance(0.5)
            ? ShapesCaptions.Name(concept, attributes, random)
            : ShapesCaptions.Describe(ToSpec(attributes), random);
        return new ShapesSample(index, seed, attributes, concept, caption, Options.ImageSize, rgb);
    }

    /// <summary>Samples 0 … <paramref name="count"/> − 1 of the stream <paramref name="seed"/>.</summary>
    public IReadOnlyList<ShapesSample> Generate(int count, int seed, ShapesSpec? given = null)
    {
        if (count < 0) throw new OptionException($"sample count {count}: must not be negative");
        var samples = new ShapesSample[count];
        for (var i = 0; i < count; i++) samples[i] = Sample(i, seed, given);
        return samples;
    }

    /// <summary>Real images of a concept, withheld or not: its attributes fixed, the others (position, pattern, …)
    /// drawn freely.</summary>
    public IReadOnlyList<ShapesSample> GenerateConcept(ShapesConcept concept, int count, int seed) => Generate(count, seed, concept.Spec);

    /// <summary>A labelled set for a question, <paramref name="perClass"/> images per class, classes interleaved
    /// (sample i has class i mod K) so that any prefix is balanced. Use a seed pretraining did not use.</summary>
    public IReadOnlyList<(ShapesSample Sample, int Label)> EvaluationSet(ShapesQuestion question, int perClass, int seed)
    {
        if (perClass < 0) throw new OptionException($"images per class {perClass}: must not be negative");
        var classes = question.Classes.Count;
        return Enumerable.Range(0, perClass * classes)
            .Select(i => (Sample(i, seed, question.ClassSpecs[i % classes]), i % classes))
            .ToArray();
    }

    /// <summary>Writes a captions dataset: <c>images/NNNNNN.png</c> (NNNNNN = sample index) and
    /// <c>captions.jsonl</c>, one line <c>{"image": "images/000000.png", "captions": ["…"]}</c> per sample. The folder
    /// appears complete or not at all. <paramref name="references"/> above 1 writes each scene's own caption and more
    /// phrasings of it (<see cref="ShapesSample.References"/>), the references a captioner's probe scores against.</summary>
    public void Export(string folder, int count, int seed, bool overwrite = false, int references = 1)
    {
        if (references < 1) throw new OptionException($"captions per scene {references}: must be at least 1");
        var samples = Generate(count, seed);
        AtomicFile.WriteDirectory(folder, overwrite, temporary =>
        {
            Directory.CreateDirectory(Path.Combine(temporary, "images"));
            using var lines = new StreamWriter(Path.Combine(temporary, "captions.jsonl"));
            foreach (var sample in samples)
            {
                var image = $"images/{sample.Index:D6}.png";
                sample.WritePng(Path.Combine(temporary, image));
                lines.Write(JsonSerializer.Serialize(new { image, captions = sample.References(references) }) + "\n");
            }
        });
    }

    /// <summary>The question without the classes this world never shows (in a world with a fixed background, the
    /// shapes of that colour; in one of single shapes, the concepts of several).</summary>
    public ShapesQuestion Ask(ShapesQuestion question) => question.Keeping(spec => Conflict(spec.WithForcedValues()) is null);

    /// <summary>Writes a question's <see cref="EvaluationSet"/> as an image folder: <c>root/&lt;class&gt;/NNNNNN.png</c>
    /// and <c>classes.json</c>, an object mapping each class folder to its display name, in class order.</summary>
    public void ExportImageFolder(string root, ShapesQuestion question, int perClass, int seed, bool overwrite = false)
    {
        question = Ask(question);
        var set = EvaluationSet(question, perClass, seed);
        AtomicFile.WriteDirectory(root, overwrite, temporary =>
        {
            foreach (var folder in question.Classes) Directory.CreateDirectory(Path.Combine(temporary, folder));
            foreach (var (sample, label) in set)
                sample.WritePng(Path.Combine(temporary, question.Classes[label], $"{sample.Index:D6}.png"));
            WriteFolderMap(Path.Combine(temporary, "classes.json"), question.Classes, question.DisplayNames);
        });
    }

    /// <summary>Object scene <paramref name="index"/> of the stream <paramref name="seed"/>: the object of
    /// <paramref name="target"/> among <paramref name="distractors"/> others (1 to 3; drawn uniformly when null).
    /// Each distractor is a (shape, colour) pair other than the target's, drawn uniformly, with a size drawn uniformly
    /// and a pattern drawn as in <see cref="Sample"/>; the background is a colour no object has. The objects take the
    /// slots of a fixed layout (those of two or three shapes, or a 2 × 2 grid for four), the target a slot drawn
    /// uniformly, everything shifted by up to ±3%. A large object has a radius of 22% of the side and a small one
    /// 14%, smaller than in <see cref="Sample"/> (30% and 18%), because four pretraining-sized shapes cannot share
    /// an image without touching. Like <see cref="Sample"/>, a pure function of its arguments and the options
    /// (<see cref="ShapesWorldOptions.Patterns"/> and <see cref="ShapesWorldOptions.Background"/> apply, the count
    /// and withholding options do not).</summary>
    public ShapesObjectScene ObjectScene(ShapesObjectConcept target, int index, int seed, int? distractors = null)
    {
        if (distractors is < 1 or > 3) throw new OptionException($"object scene with {distractors} distractors: must be 1, 2 or 3");
        var wanted = target.Object;
        if (Conflict(new ShapesSpec { Shape = wanted.Shape, Color = wanted.Color, Pattern = wanted.Pattern }) is { } reason)
            throw new OptionException($"object concept '{target.Name}' ({target.Definition}): {reason}");

        var random = new SplitMix64(seed, index);
        var count = 1 + (distractors ?? 1 + random.Pick(3));
        var others = (from shape in Enum.GetValues<ShapeKind>()
                      from color in Enum.GetValues<ShapeColor>()
                      where (shape, color) != (wanted.Shape, wanted.Color) && color != Options.Background
                      select (shape, color)).ToArray();
        var chosen = new List<ShapesObject>();
        for (var k = 1; k < count; k++)
        {
            var (shape, color) = others[random.Pick(others.Length)];
            var size = (ShapeSize)random.Pick(2);
            var pattern = Options.Patterns && !random.Chance(0.5) ? (ShapePattern)(1 + random.Pick(2)) : ShapePattern.Solid;
            chosen.Add(new ShapesObject(shape, color, size, pattern));
        }
        var layouts = ObjectLayouts[count];
        var slots = layouts[random.Pick(layouts.Length)];
        var targetSlot = random.Pick(count);
        chosen.Insert(targetSlot, wanted);
        var dx = random.Uniform(-0.03, 0.03);
        var dy = random.Uniform(-0.03, 0.03);
        var used = chosen.Select(o => o.Color).ToHashSet();
        var grounds = Enum.GetValues<ShapeColor>().Where(color => !used.Contains(color)).ToArray();
        var background = Options.Background ?? grounds[random.Pick(grounds.Length)];

        var objects = chosen.Select((o, k) => new ShapesSceneObject(o, slots[k].X + dx, slots[k].Y + dy, o.Size == ShapeSize.Large ? 0.22 : 0.14)
        {
            Ink = Jitter(ShapesPainter.BaseColor(o.Color), random),
        }).ToArray();
        var ground = Jitter(ShapesPainter.BaseColor(background), random);
        var (rgb, masks) = ShapesPainter.PaintObjects(Options.ImageSize, ground,
            objects.Select(o => new PaintedObject(o.Object.Shape, o.Object.Pattern, o.Ink, o.Radius, (o.X, o.Y))).ToArray());
        return new ShapesObjectScene(index, seed, target, objects, targetSlot, background, ground, Options.ImageSize, rgb, masks);
    }

    /// <summary>Object scenes 0 … <paramref name="count"/> − 1 of the stream <paramref name="seed"/>.</summary>
    public IReadOnlyList<ShapesObjectScene> ObjectScenes(ShapesObjectConcept target, int count, int seed, int? distractors = null)
    {
        if (count < 0) throw new OptionException($"scene count {count}: must not be negative");
        return Enumerable.Range(0, count).Select(i => ObjectScene(target, i, seed, distractors)).ToArray();
    }

    /// <summary>Writes <paramref name="perConcept"/> object scenes of each concept for zero-shot segmentation:
    /// <c>images/&lt;concept&gt;/NNNNNN.png</c>, <c>masks/&lt;concept&gt;/NNNNNN.png</c> (the target's mask, 8-bit
    /// gray, 255 inside), <c>descriptions.json</c> (concept folder → definition: the description prompts of
    /// <c>eval segment --prompts</c>, whose default prompts are the names, the folders) and <c>concepts.json</c>, a
    /// concepts file (docs/concepts-file.md) whose images are the concept's image folder, so
    /// that <c>molyneux invert/learn --concepts</c> read it directly. Scene i of concept k (of K) is scene
    /// i·K + k of the stream, and NNNNNN is that index: concepts interleaved as in <see cref="EvaluationSet"/>, so
    /// that scenes of different concepts come from different streams instead of repeating one another's layout and
    /// distractors. The folder appears complete or not at all.</summary>
    public void ExportObjectScenes(string root, IReadOnlyList<ShapesObjectConcept> concepts, int perConcept, int seed, bool overwrite = false)
    {
        if (perConcept < 0) throw new OptionException($"scenes per concept {perConcept}: must not be negative");
        if (concepts.Count == 0) throw new OptionException("no object concepts to export");
        if (concepts.GroupBy(c => c.Name).FirstOrDefault(group => group.Count() > 1) is { } repeated)
            throw new OptionException($"object concept '{repeated.Key}' is listed {repeated.Count()} times; each gets one folder, so list it once");
        var scenes = Enumerable.Range(0, perConcept * concepts.Count)
            .Select(i => ObjectScene(concepts[i % concepts.Count], i, seed))
            .ToArray();
        AtomicFile.WriteDirectory(root, overwrite, temporary =>
        {
            foreach (var concept in concepts)
            {
                Directory.CreateDirectory(Path.Combine(temporary, "images", concept.Name));
                Directory.CreateDirectory(Path.Combine(temporary, "masks", concept.Name));
            }
            foreach (var scene in scenes)
            {
                var file = $"{scene.Index:D6}.png";
                scene.WritePng(Path.Combine(temporary, "images", scene.Target.Name, file));
                scene.WriteTargetMaskPng(Path.Combine(temporary, "masks", scene.Target.Name, file));
            }
            WriteFolderMap(Path.Combine(temporary, "descriptions.json"), concepts.Select(c => c.Name).ToArray(), concepts.Select(c => c.Definition).ToArray());
            var entries = concepts.Select(c => new { name = c.Name, description = c.Definition, images = $"images/{c.Name}" });
            File.WriteAllText(Path.Combine(temporary, "concepts.json"), JsonSerializer.Serialize(entries, IndentedJson));
        });
    }

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>A JSON object mapping each class folder to a text (its display name, its description), in class order.</summary>
    private static void WriteFolderMap(string path, IReadOnlyList<string> classes, IReadOnlyList<string> texts)
    {
        var map = classes.Zip(texts).ToDictionary(pair => pair.First, pair => pair.Second);
        File.WriteAllText(path, JsonSerializer.Serialize(map, IndentedJson));
    }

    /// <summary>Draws nothing when the concept rate is 0, so that worlds differing only in what they withhold produce
    /// the same samples except those showing a withheld concept.</summary>
    private ShapesSpec PretrainingSpec(SplitMix64 random) =>
        Options.ConceptRate > 0 && pretrainingConcepts.Length > 0 && random.NextDouble() < Options.ConceptRate
            ? pretrainingConcepts[random.Pick(pretrainingConcepts.Length)]
            : unconstrained;

    /// <summary>The spec with the values it and this world's options force, or an error when the options rule it
    /// out.</summary>
    private ShapesSpec Checked(ShapesSpec spec)
    {
        spec = spec.WithForcedValues();
        if (Conflict(spec) is { } reason) throw new OptionException($"shapes spec {spec}: {reason}");
        if (Options.MaxCount == 1) spec = spec with { Count = 1 };
        if (!Options.Patterns) spec = spec with { Pattern = ShapePattern.Solid };
        if (Options.Background is { } background) spec = spec with { Background = background };
        return spec;
    }

    private string? Conflict(ShapesSpec spec) =>
        spec.Count > Options.MaxCount ? $"this world shows at most {Options.MaxCount} shapes"
        : !Options.Patterns && spec.Pattern is not (null or ShapePattern.Solid) ? "this world has no patterns"
        : Options.Background is { } background && spec.Background is { } other && other != background ? $"this world's background is always {ShapesCaptions.Word(background)}"
        : Options.Background is { } ground && spec.Color == ground ? $"this world draws every shape on a {ShapesCaptions.Word(ground)} background, so none is {ShapesCaptions.Word(ground)}"
        : null;

    /// <summary>Rejection sampling terminates: <paramref name="spec"/> has its forced values filled in, so when it
    /// does not imply a withheld concept, some attribute the concept fixes is still free to take another value.</summary>
    private bool IsExcluded(ShapesAttributes attributes, ShapesSpec spec) =>
        Options.WithholdMode == WithholdMode.Exclude
        && Options.Withhold.Any(c => c.Spec.Matches(attributes) && !spec.Implies(c.Spec));

    private ShapesAttributes Draw(ShapesSpec spec, SplitMix64 random)
    {
        var shape = spec.Shape ?? (ShapeKind)random.Pick(Shapes.Count);
        var color = spec.Color ?? OtherColor(spec.Background, random);
        var background = spec.Background ?? OtherColor(color, random);
        var count = spec.Count ?? (random.Chance(0.5) ? 1 : 2 + random.Pick(Options.MaxCount - 1));
        var size = spec.Size ?? (count > 1 ? ShapeSize.Small : (ShapeSize)random.Pick(2));
        var pattern = spec.Pattern ?? (random.Chance(0.5) ? ShapePattern.Solid : (ShapePattern)(1 + random.Pick(2)));
        ShapePosition? position = count > 1 ? null : spec.Position ?? (ShapePosition)random.Pick(5);
        return new(shape, color, size, background, pattern, count, position);
    }

    private static ShapeColor OtherColor(ShapeColor? excluded, SplitMix64 random)
    {
        if (excluded is not { } other) return (ShapeColor)random.Pick(Colors.Count);
        var pick = random.Pick(Colors.Count - 1);
        return (ShapeColor)(pick < (int)other ? pick : pick + 1);
    }

    private static ShapesSpec ToSpec(ShapesAttributes a) => new()
    {
        Shape = a.Shape, Color = a.Color, Size = a.Size, Background = a.Background, Pattern = a.Pattern, Count = a.Count, Position = a.Position,
    };

    private static readonly (double X, double Y)[][] PairLayouts =
    [
        [(0.26, 0.5), (0.74, 0.5)], [(0.5, 0.26), (0.5, 0.74)], [(0.28, 0.28), (0.72, 0.72)], [(0.72, 0.28), (0.28, 0.72)],
    ];

    private static readonly (double X, double Y)[][] TripleLayouts =
    [
        [(0.26, 0.27), (0.74, 0.27), (0.5, 0.73)], [(0.5, 0.27), (0.26, 0.73), (0.74, 0.73)],
    ];

    /// <summary>The slots of object scenes by object count, each layout in reading order (top to bottom, then left to
    /// right). Centres are at least 0.48 of the side apart, so two large objects (radius 0.22) keep 4% between them
    /// and, after the ±3% shift, 1% from the edge.</summary>
    private static readonly Dictionary<int, (double X, double Y)[][]> ObjectLayouts = new()
    {
        [2] = PairLayouts,
        [3] = TripleLayouts,
        [4] = [[(0.26, 0.26), (0.74, 0.26), (0.26, 0.74), (0.74, 0.74)]],
    };

    /// <summary>Shape radius and centres in units of the image side. A single shape sits 5% from the edge it is
    /// placed at; multiple shapes follow fixed layouts whose boxes keep ≥ 8% of the side between shapes, so they never
    /// touch. Everything is shifted by up to ±3% for variety.</summary>
    private static (double Radius, (double X, double Y)[] Centers) Layout(ShapesAttributes a, SplitMix64 random)
    {
        var radius = a.Size == ShapeSize.Large ? 0.30 : 0.18;
        var dx = random.Uniform(-0.03, 0.03);
        var dy = random.Uniform(-0.03, 0.03);
        if (a.Position is not { } position)
        {
            var layouts = a.Count == 2 ? PairLayouts : TripleLayouts;
            return (radius, layouts[random.Pick(layouts.Length)].Select(c => (c.X + dx, c.Y + dy)).ToArray());
        }
        var offset = 0.5 - radius - 0.05;
        var (x, y) = position switch
        {
            ShapePosition.Left => (0.5 - offset, 0.5),
            ShapePosition.Right => (0.5 + offset, 0.5),
            ShapePosition.Top => (0.5, 0.5 - offset),
            ShapePosition.Bottom => (0.5, 0.5 + offset),
            _ => (0.5, 0.5),
        };
        return (radius, [(x + dx, y + dy)]);
    }

    /// <summary>±12 per channel, so that colour classes are regions of RGB space rather than single points.</summary>
    private static Rgb Jitter(Rgb c, SplitMix64 random)
    {
        int Channel(int value) => Math.Clamp(value + random.Pick(25) - 12, 0, 255);
        return new(Channel(c.R), Channel(c.G), Channel(c.B));
    }
}
