using System.Text.Json;
using Molyneux.Worlds;
using SkiaSharp;

namespace Molyneux.Tests.Worlds;

public class ShapesWorldTests
{
    private static readonly ShapesWorld World = new();

    private static readonly ShapesWorldOptions AllConceptsOften = new() { ConceptRate = 0.5 };

    [Fact]
    public void Shapes_SameSeedAndIndex_GiveIdenticalImagesAndCaptions()
    {
        var first = World.Generate(50, seed: 7);
        var again = World.Generate(50, seed: 7);
        var other = World.Generate(50, seed: 8);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].Caption, again[i].Caption);
            Assert.Equal(first[i].Attributes, again[i].Attributes);
            Assert.True(first[i].Rgb.SequenceEqual(again[i].Rgb));
            using var a = first[i].ToTensor();
            using var b = again[i].ToTensor();
            Assert.True(a.equal(b).all().item<bool>());
        }
        Assert.Equal(first[3].Caption, World.Sample(3, seed: 7).Caption);
        Assert.True(first.Zip(other).Count(pair => !pair.First.Rgb.SequenceEqual(pair.Second.Rgb)) >= 45);
        Assert.NotEqual(first.Select(s => s.Caption), other.Select(s => s.Caption));
    }

    /// <summary>Pins the start of one stream, images included, so that a change to the generator (which would
    /// silently change every experiment's data) or a machine that rasterizes differently fails here instead of
    /// showing up as drifting results.</summary>
    [Fact]
    public void Shapes_Stream_IsPinned()
    {
        var samples = World.Generate(64, seed: 1);
        Assert.Equal("three striped red triangles on a green background", samples[0].Caption);
        Assert.Equal(new ShapesAttributes(ShapeKind.Triangle, ShapeColor.Red, ShapeSize.Small, ShapeColor.Green, ShapePattern.Striped, 3, null), samples[0].Attributes);
        var hash = 14695981039346656037UL;
        foreach (var sample in samples)
        foreach (var value in sample.Rgb)
            hash = (hash ^ value) * 1099511628211UL;
        Assert.Equal(11171156953188269523UL, hash);
    }

    [Fact]
    public void Shapes_Tensors_AreFloatChannelsFirstInUnitRange()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = 64 });
        var samples = world.Generate(4, seed: 1);
        using var one = samples[0].ToTensor();
        Assert.Equal([3L, 64, 64], one.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, one.dtype);
        using var batch = ShapesSample.Stack(samples);
        Assert.Equal([4L, 3, 64, 64], batch.shape);
        Assert.True(batch.min().item<float>() >= 0 && batch.max().item<float>() <= 1);
        Assert.Equal(samples[2].Rgb[(5 * 64 + 9) * 3 + 1] / 255f, batch[2, 1, 5, 9].item<float>());
    }

    [Fact]
    public void Shapes_Captions_NameTheColourAndTheShape()
    {
        foreach (var sample in World.Generate(500, seed: 3))
        {
            var words = sample.Caption.Split(' ');
            if (sample.Concept is { } concept && words.Contains(concept.Name)) continue;
            var shape = ShapesWorld.Shapes[(int)sample.Attributes.Shape];
            Assert.Contains(ShapesWorld.Colors[(int)sample.Attributes.Color], words);
            Assert.Contains(sample.Attributes.Count == 1 ? shape : shape.EndsWith('s') ? shape + "es" : shape + "s", words);
            Assert.Contains(sample.Attributes.Count switch { 1 => words.Intersect(["a", "an", "one"]).First(), 2 => "two", _ => "three" }, words);
        }
    }

    [Fact]
    public void Shapes_LargeRedCircleOnBlue_IsRedInTheMiddleAndBlueInTheCorners()
    {
        var spec = new ShapesSpec
        {
            Shape = ShapeKind.Circle, Color = ShapeColor.Red, Size = ShapeSize.Large, Background = ShapeColor.Blue,
            Pattern = ShapePattern.Solid, Position = ShapePosition.Center,
        };
        foreach (var sample in World.Generate(5, seed: 11, spec))
        {
            var (r, g, b) = Pixel(sample, 16, 16);
            Assert.True(r > 190 && g < 60 && b < 60, $"centre {(r, g, b)}");
            foreach (var (x, y) in new[] { (0, 0), (31, 0), (0, 31), (31, 31) })
            {
                (r, g, b) = Pixel(sample, x, y);
                Assert.True(r < 70 && g < 110 && b > 190, $"corner {(r, g, b)}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Shapes_Count_IsTheNumberOfSeparateBlobs(int count)
    {
        var samples = World.Generate(80, seed: 5, new ShapesSpec { Count = count, Pattern = ShapePattern.Solid });
        Assert.Equal(Enum.GetValues<ShapeKind>().Length, samples.Select(s => s.Attributes.Shape).Distinct().Count());
        foreach (var sample in samples)
            Assert.True(count == Blobs(sample), $"{sample.Caption}: {Blobs(sample)} blobs");
    }

    [Fact]
    public void Shapes_DescribeOnly_NeverNamesWithheldConcepts_ButStillShowsThem()
    {
        var world = new ShapesWorld(AllConceptsOften with { Withhold = ShapesConcepts.All });
        var samples = world.Generate(2000, seed: 2);
        var names = ShapesConcepts.All.Select(c => c.Name).ToHashSet();
        Assert.DoesNotContain(samples, s => s.Caption.Split(' ').Any(names.Contains));
        Assert.True(names.SetEquals(samples.Where(s => s.Concept is not null).Select(s => s.Concept!.Name)));

        // The control: concepts that are not withheld are named in about half of their captions.
        var named = new ShapesWorld(AllConceptsOften).Generate(2000, seed: 2).Where(s => s.Concept is not null).ToArray();
        var share = named.Count(s => s.Caption.Split(' ').Contains(s.Concept!.Name)) / (double)named.Length;
        Assert.InRange(share, 0.4, 0.6);
    }

    [Fact]
    public void Shapes_Exclude_NeverShowsWithheldCombinations_ExceptWhenAskedFor()
    {
        var moongate = ShapesConcepts.ByName("moongate");
        var zorblet = ShapesConcepts.ByName("zorblet");
        var world = new ShapesWorld(AllConceptsOften with { Withhold = [moongate, zorblet], WithholdMode = WithholdMode.Exclude });
        var samples = world.Generate(3000, seed: 4);
        Assert.DoesNotContain(samples, s => moongate.Spec.Matches(s.Attributes) || zorblet.Spec.Matches(s.Attributes));
        Assert.Contains(samples, s => s.Concept is not null);

        // Asking for a superset of the combination still avoids it; asking for the concept itself gets it.
        var rings = world.Generate(300, seed: 4, new ShapesSpec { Shape = ShapeKind.Ring, Color = ShapeColor.Gray, Size = ShapeSize.Large });
        Assert.DoesNotContain(rings, s => moongate.Spec.Matches(s.Attributes));
        var hearts = world.Generate(100, seed: 4, new ShapesSpec { Shape = ShapeKind.Heart, Color = ShapeColor.Red, Size = ShapeSize.Small });
        Assert.DoesNotContain(hearts, s => zorblet.Spec.Matches(s.Attributes));
        // Withholding changes only the scenes it concerns (with no concept oversampling to shift the streams).
        var natural = new ShapesWorld(new ShapesWorldOptions { Withhold = [moongate, zorblet], WithholdMode = WithholdMode.Exclude });
        var changed = natural.Generate(3000, seed: 4).Zip(World.Generate(3000, seed: 4)).Where(pair => pair.First.Caption != pair.Second.Caption || !pair.First.Rgb.SequenceEqual(pair.Second.Rgb)).ToArray();
        Assert.NotEmpty(changed);
        Assert.All(changed, pair => Assert.True(moongate.Spec.Matches(pair.Second.Attributes) || zorblet.Spec.Matches(pair.Second.Attributes)));

        var real = world.GenerateConcept(moongate, 20, seed: 4);
        Assert.All(real, s => Assert.Same(moongate, s.Concept));
        Assert.True(real.Select(s => s.Attributes.Position).Distinct().Count() > 1);
    }

    [Fact]
    public void Shapes_ConceptNames_AreNeverCaptionWords_AndDefinitionsDescribeTheirImages()
    {
        var vocabulary = DescriptiveVocabulary();
        foreach (var concept in ShapesConcepts.All)
        {
            Assert.DoesNotContain(concept.Name, vocabulary);
            Assert.DoesNotContain(concept.Name, concept.Definition);
            Assert.All(concept.Definition.Split(' '), word => Assert.Contains(word, vocabulary));
            Assert.All(World.GenerateConcept(concept, 10, seed: 6), s => Assert.True(concept.Spec.Matches(s.Attributes)));
        }
        Assert.Equal("a large gray ring on a green background", ShapesConcepts.ByName("moongate").Definition);
        Assert.Equal("three red hearts", ShapesConcepts.ByName("zorblet").Definition);
        Assert.Equal(ShapesConcepts.All.Count, ShapesConcepts.All.Select(c => (c.Spec.Shape, c.Spec.Color)).Distinct().Count());
        Assert.Throws<OptionException>(() => ShapesConcepts.ByName("unicorn"));
    }

    [Fact]
    public void Shapes_Questions_UseCaptionWords_AndLabelTheirEvaluationSets()
    {
        var vocabulary = DescriptiveVocabulary();
        Assert.Equal(ShapesWorld.Colors, ShapesQuestion.Color.Classes);
        Assert.Equal(ShapesWorld.Shapes, ShapesQuestion.Shape.Classes);
        Assert.Equal("a red circle", ShapesQuestion.Color.Prompts[0][0]);
        Assert.Contains("an orange star", ShapesQuestion.Shape.Prompts[(int)ShapeKind.Star]);
        foreach (var question in new[] { ShapesQuestion.Color, ShapesQuestion.Shape, ShapesQuestion.Concepts(ShapesConcepts.All, ConceptPrompts.Definitions) })
        {
            Assert.All(question.Prompts.SelectMany(p => p).SelectMany(p => p.Split(' ')), word => Assert.Contains(word, vocabulary));
            var set = World.EvaluationSet(question, perClass: 6, seed: 9);
            Assert.Equal(6 * question.Classes.Count, set.Count);
            Assert.All(set, item => Assert.Equal(item.Label, question.LabelOf(item.Sample.Attributes)));
            Assert.All(question.Classes.Select((_, k) => set.Count(item => item.Label == k)), n => Assert.Equal(6, n));
        }
        var byName = ShapesQuestion.Concepts(ShapesConcepts.All, ConceptPrompts.Names);
        Assert.Equal(["a moongate"], byName.Prompts[0]);
        Assert.Equal("a large gray ring on a green background", ShapesQuestion.Concepts(ShapesConcepts.All, ConceptPrompts.Definitions).DisplayNames[0]);
    }

    [Fact]
    public void Shapes_Coverage_EveryAttributeValueOccursIn1000Samples()
    {
        var attributes = World.Generate(1000, seed: 12).Select(s => s.Attributes).ToArray();
        Assert.Equal(Enum.GetValues<ShapeColor>().Length, attributes.Select(a => a.Color).Distinct().Count());
        Assert.Equal(Enum.GetValues<ShapeColor>().Length, attributes.Select(a => a.Background).Distinct().Count());
        Assert.Equal(Enum.GetValues<ShapeKind>().Length, attributes.Select(a => a.Shape).Distinct().Count());
        Assert.Equal(Enum.GetValues<ShapeSize>().Length, attributes.Select(a => a.Size).Distinct().Count());
        Assert.Equal(Enum.GetValues<ShapePattern>().Length, attributes.Select(a => a.Pattern).Distinct().Count());
        Assert.Equal(Enum.GetValues<ShapePosition>().Length, attributes.Select(a => a.Position).OfType<ShapePosition>().Distinct().Count());
        Assert.Equal([1, 2, 3], attributes.Select(a => a.Count).Distinct().Order());
        Assert.DoesNotContain(attributes, a => a.Color == a.Background);
        Assert.DoesNotContain(attributes, a => a.Count > 1 && (a.Size == ShapeSize.Large || a.Position is not null));
    }

    [Fact]
    public void Shapes_SimplerWorlds_HonourTheirOptions_AndBadRequestsAreRefused()
    {
        var simple = new ShapesWorld(new ShapesWorldOptions { MaxCount = 1, Patterns = false, ConceptRate = 0.5 });
        Assert.All(simple.Generate(300, seed: 1), s => Assert.True(s.Attributes is { Count: 1, Pattern: ShapePattern.Solid }));
        Assert.Throws<OptionException>(() => simple.Sample(0, 1, new ShapesSpec { Count = 2 }));
        Assert.Throws<OptionException>(() => simple.GenerateConcept(ShapesConcepts.ByName("quindle"), 1, seed: 1));
        Assert.Throws<OptionException>(() => World.Sample(0, 1, new ShapesSpec { Count = 2, Size = ShapeSize.Large }));
        Assert.Throws<OptionException>(() => World.Sample(0, 1, new ShapesSpec { Color = ShapeColor.Red, Background = ShapeColor.Red }));
        Assert.Throws<OptionException>(() => new ShapesWorld(new ShapesWorldOptions { ImageSize = 8 }));
        Assert.Throws<OptionException>(() => new ShapesWorld(new ShapesWorldOptions { ConceptRate = 2 }));
        Assert.Throws<OptionException>(() => new ShapesWorld(new ShapesWorldOptions
        {
            Withhold = [new ShapesConcept("blorp", new ShapesSpec { Shape = ShapeKind.Star, Color = ShapeColor.Blue })],
        }));
    }

    [Fact]
    public void Shapes_PlainWorld_DrawsOneSolidShapeOnBlack_AndAsksOnlyWhatItShows()
    {
        var plain = new ShapesWorld(ShapesWorldOptions.Plain with { ConceptRate = 0.5 });
        Assert.Equal("1 shape, solid, on black", plain.Options.Summary);
        Assert.Equal("1–3 shapes, patterned or solid, on grounds of any colour", World.Options.Summary);
        var samples = plain.Generate(300, seed: 1);
        Assert.All(samples, s => Assert.True(s.Attributes is { Count: 1, Pattern: ShapePattern.Solid, Background: ShapeColor.Black }));
        Assert.DoesNotContain(samples, s => s.Attributes.Color == ShapeColor.Black);
        Assert.Equal(8, samples.Select(s => s.Attributes.Color).Distinct().Count());
        Assert.All(samples, s => Assert.True(s.Rgb[0] <= 32 && s.Rgb[1] <= 32 && s.Rgb[2] <= 32, "the top-left corner is background: black (20) up to the ±12 jitter"));

        var colors = plain.Ask(ShapesQuestion.Color);
        Assert.Equal(ShapesWorld.Colors.Where(c => c != "black"), colors.Classes);
        Assert.Same(ShapesQuestion.Shape, plain.Ask(ShapesQuestion.Shape));
        Assert.All(plain.EvaluationSet(colors, perClass: 2, seed: 3), entry => Assert.Equal(colors.Classes[entry.Label], ShapesCaptions.Word(entry.Sample.Attributes.Color)));
        var black = Assert.Throws<OptionException>(() => plain.EvaluationSet(ShapesQuestion.Color, perClass: 1, seed: 3));
        Assert.Contains("every shape on a black background, so none is black", black.Message);
        var ground = Assert.Throws<OptionException>(() => plain.Sample(0, 1, new ShapesSpec { Background = ShapeColor.Blue }));
        Assert.Contains("background is always black", ground.Message);
    }

    [Fact]
    public void Shapes_Export_WritesPngsAndCaptionsJsonl()
    {
        using var temp = new TestPaths.TempFolder();
        var folder = temp.File("captions");
        World.Export(folder, 12, seed: 3);
        var samples = World.Generate(12, seed: 3);
        var lines = File.ReadAllLines(Path.Combine(folder, "captions.jsonl"));
        Assert.Equal(12, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            var image = line.RootElement.GetProperty("image").GetString()!;
            Assert.Equal($"images/{i:D6}.png", image);
            Assert.Equal([samples[i].Caption], line.RootElement.GetProperty("captions").EnumerateArray().Select(c => c.GetString()));
            Assert.True(DecodeRgb(Path.Combine(folder, image)).SequenceEqual(samples[i].Rgb.ToArray()));
        }
        Assert.Equal(12, Directory.GetFiles(Path.Combine(folder, "images")).Length);
        Assert.Throws<OptionException>(() => World.Export(folder, 3, seed: 3));
        World.Export(folder, 3, seed: 3, overwrite: true);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(folder, "captions.jsonl")).Length);
        Assert.Single(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Shapes_Export_WithReferences_WritesEachScenesOwnCaptionAndItsOtherPhrasings()
    {
        using var temp = new TestPaths.TempFolder();
        var folder = temp.File("captions");
        World.Export(folder, 4, seed: 3, references: 5);
        var samples = World.Generate(4, seed: 3);
        var lines = File.ReadAllLines(Path.Combine(folder, "captions.jsonl"));
        Assert.Equal(4, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            var captions = line.RootElement.GetProperty("captions").EnumerateArray().Select(c => c.GetString()!).ToList();
            Assert.Equal(samples[i].References(5), captions);
            Assert.Equal(samples[i].Caption, captions[0]);
        }
        var none = Assert.Throws<OptionException>(() => World.Export(temp.File("none"), 4, seed: 3, references: 0));
        Assert.Contains("captions per scene 0", none.Message);
        Assert.False(Directory.Exists(temp.File("none")));
    }

    [Fact]
    public void Shapes_ExportImageFolder_WritesOneFolderPerClassAndClassesJson()
    {
        using var temp = new TestPaths.TempFolder();
        var root = temp.File("colors");
        World.ExportImageFolder(root, ShapesQuestion.Color, perClass: 3, seed: 4);
        var classes = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(root, "classes.json")))!;
        Assert.Equal(ShapesWorld.Colors, classes.Keys);
        Assert.Equal(ShapesWorld.Colors, classes.Values);
        foreach (var (sample, label) in World.EvaluationSet(ShapesQuestion.Color, perClass: 3, seed: 4))
        {
            var path = Path.Combine(root, ShapesWorld.Colors[label], $"{sample.Index:D6}.png");
            Assert.True(DecodeRgb(path).SequenceEqual(sample.Rgb.ToArray()));
        }
        Assert.All(ShapesWorld.Colors, color => Assert.Equal(3, Directory.GetFiles(Path.Combine(root, color)).Length));
    }

    /// <summary>Every word of descriptive captions (all concepts withheld, so none is named).</summary>
    private static HashSet<string> DescriptiveVocabulary() =>
        new ShapesWorld(new ShapesWorldOptions { Withhold = ShapesConcepts.All }).Generate(3000, seed: 6)
            .SelectMany(s => s.Caption.Split(' ')).ToHashSet();

    private static (int R, int G, int B) Pixel(ShapesSample sample, int x, int y)
    {
        var at = (y * sample.ImageSize + x) * 3;
        return (sample.Rgb[at], sample.Rgb[at + 1], sample.Rgb[at + 2]);
    }

    /// <summary>8-connected components of the pixels that differ from the background (the corner, which no shape
    /// reaches) by more than half the largest difference in the image. Diagonal neighbours count so that a star's
    /// thin tip stays attached; shapes are at least 2.5 px apart, so no diagonal step bridges two of them.</summary>
    private static int Blobs(ShapesSample sample)
    {
        var size = sample.ImageSize;
        var corner = Pixel(sample, 0, 0);
        var distance = new int[size * size];
        for (var p = 0; p < distance.Length; p++)
        {
            var (r, g, b) = Pixel(sample, p % size, p / size);
            distance[p] = Math.Abs(r - corner.R) + Math.Abs(g - corner.G) + Math.Abs(b - corner.B);
        }
        var threshold = distance.Max() / 2;
        var seen = new bool[size * size];
        var blobs = 0;
        for (var start = 0; start < seen.Length; start++)
        {
            if (seen[start] || distance[start] <= threshold) continue;
            blobs++;
            var stack = new Stack<int>([start]);
            seen[start] = true;
            while (stack.TryPop(out var p))
            {
                int x = p % size, y = p / size;
                for (var ny = y - 1; ny <= y + 1; ny++)
                for (var nx = x - 1; nx <= x + 1; nx++)
                {
                    var n = ny * size + nx;
                    if (nx < 0 || ny < 0 || nx >= size || ny >= size || seen[n] || distance[n] <= threshold) continue;
                    seen[n] = true;
                    stack.Push(n);
                }
            }
        }
        return blobs;
    }

    internal static byte[] DecodeRgb(string png)
    {
        using var bitmap = SKBitmap.Decode(png);
        var rgb = new List<byte>();
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var color = bitmap.GetPixel(x, y);
            rgb.AddRange([color.Red, color.Green, color.Blue]);
        }
        return rgb.ToArray();
    }
}
