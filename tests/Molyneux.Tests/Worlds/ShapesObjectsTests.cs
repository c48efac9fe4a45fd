using System.Text.Json;
using Molyneux.Imaging;
using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Cli;
using Molyneux.Worlds;
using SkiaSharp;

namespace Molyneux.Tests.Worlds;

public class ShapesObjectsTests
{
    private static readonly ShapesWorld World = new();

    private static ShapesObjectConcept Dworple => ShapesObjectConcepts.ByName("dworple");

    [Fact]
    public void ObjectConcepts_DefinitionsUseCaptionWords_AndNamesAreNewNonsense()
    {
        Assert.Equal("a large striped orange circle", Dworple.Definition);
        Assert.Equal("a small red square", ShapesObjectConcepts.ByName("plovix").Definition);
        Assert.Equal("a large dotted blue triangle", ShapesObjectConcepts.ByName("zintaro").Definition);
        Assert.Equal("quenzo: a large purple ring", ShapesObjectConcepts.ByName("quenzo").ToString());
        Assert.Equal("a small striped yellow star", new ShapesObject(ShapeKind.Star, ShapeColor.Yellow, ShapeSize.Small, ShapePattern.Striped).Description);

        var all = ShapesObjectConcepts.All;
        Assert.Equal(8, all.Count);
        Assert.Equal(8, all.Select(c => (c.Object.Shape, c.Object.Color)).Distinct().Count());
        Assert.Equal(8, all.Select(c => c.Name).Distinct().Count());
        Assert.Equal(2, all.Select(c => c.Object.Size).Distinct().Count());
        Assert.Equal(3, all.Select(c => c.Object.Pattern).Distinct().Count());
        var sceneConcepts = ShapesConcepts.All.Select(c => c.Name).ToHashSet();
        var vocabulary = new ShapesWorld(new ShapesWorldOptions { Withhold = ShapesConcepts.All }).Generate(3000, seed: 6)
            .SelectMany(s => s.Caption.Split(' ')).ToHashSet();
        foreach (var concept in all)
        {
            Assert.DoesNotContain(concept.Name, sceneConcepts);
            Assert.DoesNotContain(concept.Name, vocabulary);
            Assert.All(concept.Definition.Split(' '), word => Assert.Contains(word, vocabulary));
        }
        Assert.Same(Dworple, ShapesObjectConcepts.ByName("dworple"));
        Assert.Contains("unknown shapes object concept 'moongate'", Assert.Throws<OptionException>(() => ShapesObjectConcepts.ByName("moongate")).Message);
        Assert.Throws<OptionException>(() => new ShapesObjectConcept("Blorp", Dworple.Object));
    }

    [Fact]
    public void ReferenceObjects_ShareNoShapeAndColourWithTheConcepts()
    {
        var taught = ShapesObjectConcepts.All.Select(c => (c.Object.Shape, c.Object.Color)).ToHashSet();
        var reference = ShapesObjectConcepts.Reference;
        Assert.Equal(8, reference.Select(c => (c.Object.Shape, c.Object.Color)).Distinct().Count());
        Assert.All(reference, c => Assert.DoesNotContain((c.Object.Shape, c.Object.Color), taught));
        Assert.All(reference, c => Assert.Equal(ShapesCaptions.Word(c.Object.Color) + ShapesCaptions.Word(c.Object.Shape), c.Name));
    }

    [Fact]
    public void ObjectScene_SameSeedAndIndex_GiveIdenticalBytesAndMasks()
    {
        var first = World.ObjectScenes(Dworple, 30, seed: 7);
        var again = World.ObjectScenes(Dworple, 30, seed: 7);
        var other = World.ObjectScenes(Dworple, 30, seed: 8);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].Caption, again[i].Caption);
            Assert.Equal(first[i].Objects, again[i].Objects);
            Assert.Equal(first[i].TargetIndex, again[i].TargetIndex);
            Assert.True(first[i].Rgb.SequenceEqual(again[i].Rgb));
            for (var k = 0; k < first[i].Objects.Count; k++) Assert.True(first[i].Mask(k).SequenceEqual(again[i].Mask(k)));
        }
        Assert.True(World.ObjectScene(Dworple, 4, seed: 7).Rgb.SequenceEqual(first[4].Rgb));
        Assert.True(first.Zip(other).Count(pair => !pair.First.Rgb.SequenceEqual(pair.Second.Rgb)) >= 28);
    }

    /// <summary>Pins the start of one stream, so that a change to the generator shows up here rather than as a
    /// silently different segmentation benchmark.</summary>
    [Fact]
    public void ObjectScene_Stream_IsPinned()
    {
        var scenes = World.ObjectScenes(Dworple, 16, seed: 1);
        var hash = 14695981039346656037UL;
        foreach (var scene in scenes)
        {
            foreach (var value in scene.Rgb) hash = (hash ^ value) * 1099511628211UL;
            foreach (var inside in scene.TargetMask) hash = (hash ^ (inside ? 1UL : 0UL)) * 1099511628211UL;
        }
        Assert.Equal(("a large striped orange circle and a small dotted white circle on a yellow background", 0, 11335402089330076493UL),
            (scenes[0].Caption, scenes[0].TargetIndex, hash));
    }

    /// <summary>A square whose edges fall in the middle of pixels: the edge pixels are covered by exactly 8 of their
    /// 16 subsamples and belong to the mask, the corner pixels by 4 and do not.</summary>
    [Fact]
    public void PaintObjects_MaskHoldsThePixelsCoveredAtLeastHalf()
    {
        // Square: |u| ≤ 0.85, so a radius of 4.5 / (0.85 · 16) of the side puts its edges 4.5 px from the centre,
        // i.e. at 3.5 px and 12.5 px: pixels 3 and 12 are half covered.
        var radius = 4.5 / (0.85 * 16);
        var white = new Rgb(255, 255, 255);
        var (rgb, masks) = ShapesPainter.PaintObjects(16, new Rgb(0, 0, 0), [new PaintedObject(ShapeKind.Square, ShapePattern.Solid, white, radius, (0.5, 0.5))]);
        var mask = Assert.Single(masks);
        for (var y = 0; y < 16; y++)
        for (var x = 0; x < 16; x++)
        {
            var inBox = x is >= 3 and <= 12 && y is >= 3 and <= 12;
            var corner = x is 3 or 12 && y is 3 or 12;
            Assert.Equal(inBox && !corner, mask[y * 16 + x]);
            var expected = !inBox ? 0 : corner ? (255 * 4 + 8) / 16 : x is 3 or 12 || y is 3 or 12 ? (255 * 8 + 8) / 16 : 255;
            Assert.Equal(expected, rgb[(y * 16 + x) * 3]);
        }
        Assert.Equal(96, mask.Count(inside => inside));
    }

    /// <summary>Every pixel is explained by the painter's blend: a mask pixel is its object's colour and pattern shade
    /// covering at least 8 of 16 subsamples over the background, a pixel outside all masks is the background or an
    /// edge pixel of some object covering fewer.</summary>
    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void ObjectScene_MasksAreDisjointNonEmpty_AndAgreeWithThePixels(int imageSize)
    {
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = imageSize });
        foreach (var concept in ShapesObjectConcepts.All)
        foreach (var scene in world.ObjectScenes(concept, 6, seed: 3))
        {
            var pixels = imageSize * imageSize;
            for (var k = 0; k < scene.Objects.Count; k++) Assert.True(scene.Mask(k).Contains(true), $"{scene.Caption}: object {k} has an empty mask");
            for (var p = 0; p < pixels; p++)
            {
                var owners = Enumerable.Range(0, scene.Objects.Count).Where(k => scene.Mask(k)[p]).ToArray();
                Assert.True(owners.Length <= 1, $"{scene.Caption}: pixel {p} is in {owners.Length} masks");
                var pixel = (scene.Rgb[p * 3], scene.Rgb[p * 3 + 1], scene.Rgb[p * 3 + 2]);
                if (owners.Length == 1)
                {
                    Assert.True(Blends(scene.Objects[owners[0]].Ink, scene.BackgroundInk, pixel, minCovered: 8, maxCovered: 16),
                        $"{scene.Caption}: pixel {p} {pixel} is in the mask of object {owners[0]} but not mostly its colour");
                    continue;
                }
                var background = scene.BackgroundInk;
                if (pixel == ((byte)background.R, (byte)background.G, (byte)background.B)) continue;
                var (x, y) = ((p % imageSize + 0.5) / imageSize, (p / imageSize + 0.5) / imageSize);
                Assert.True(scene.Objects.Any(o => Math.Abs(x - o.X) <= o.Radius + 1.0 / imageSize && Math.Abs(y - o.Y) <= o.Radius + 1.0 / imageSize
                                                   && Blends(o.Ink, background, pixel, minCovered: 1, maxCovered: 7)),
                    $"{scene.Caption}: pixel {p} {pixel} is outside every mask but neither background nor an object's antialiased edge");
            }
        }
    }

    [Fact]
    public void ObjectScene_DistractorsDifferFromTheTarget_TheBackgroundFromEveryObject_AndTheTargetMoves()
    {
        foreach (var concept in ShapesObjectConcepts.All)
        {
            var scenes = World.ObjectScenes(concept, 120, seed: 5);
            foreach (var scene in scenes)
            {
                var target = scene.Objects[scene.TargetIndex];
                Assert.Equal(concept.Object, target.Object);
                Assert.Same(concept, scene.Target);
                Assert.All(scene.Objects.Where((_, k) => k != scene.TargetIndex),
                    o => Assert.True(o.Object.Shape != concept.Object.Shape || o.Object.Color != concept.Object.Color, scene.Caption));
                Assert.DoesNotContain(scene.Objects, o => o.Object.Color == scene.Background);
                Assert.Equal(target.Object.Size == ShapeSize.Large ? 0.22 : 0.14, target.Radius);
                Assert.Equal(string.Join(", ", scene.Objects.Select(o => o.Object.Description)), ListedWithCommas(scene.Caption));
                Assert.EndsWith($" on {ShapesCaptions.Article(ShapesCaptions.Word(scene.Background))} {ShapesCaptions.Word(scene.Background)} background", scene.Caption);
                Assert.True(scene.Objects.Zip(scene.Objects.Skip(1)).All(pair => pair.First.Y < pair.Second.Y - 0.1 || (Math.Abs(pair.First.Y - pair.Second.Y) < 1e-9 && pair.First.X < pair.Second.X)),
                    $"{scene.Caption}: objects are not in reading order");
            }
            Assert.Equal([2, 3, 4], scenes.Select(s => s.Objects.Count).Distinct().Order());
            foreach (var group in scenes.GroupBy(s => s.Objects.Count))
                Assert.Equal(group.Key, group.Select(s => s.TargetIndex).Distinct().Count());
            Assert.True(scenes.Select(s => s.Background).Distinct().Count() >= 4);
        }
        Assert.All(World.ObjectScenes(Dworple, 20, seed: 2, distractors: 3), s => Assert.Equal(4, s.Objects.Count));
        Assert.All(World.ObjectScenes(Dworple, 20, seed: 2, distractors: 1), s => Assert.Equal(2, s.Objects.Count));
        Assert.Equal("a small red square and a large blue star on a white background",
            new ShapesObjectScene(0, 0, Dworple,
                [new(new(ShapeKind.Square, ShapeColor.Red, ShapeSize.Small, ShapePattern.Solid), 0.26, 0.5, 0.14),
                 new(new(ShapeKind.Star, ShapeColor.Blue, ShapeSize.Large, ShapePattern.Solid), 0.74, 0.5, 0.22)],
                0, ShapeColor.White, new Rgb(245, 245, 245), 16, new byte[16 * 16 * 3], [new bool[256], new bool[256]]).Caption);
    }

    [Fact]
    public void ObjectScene_HonoursTheWorldOptions_AndRefusesWhatItCannotDraw()
    {
        var onBlack = new ShapesWorld(new ShapesWorldOptions { Background = ShapeColor.Black, Patterns = false });
        var plovix = ShapesObjectConcepts.ByName("plovix");
        foreach (var scene in onBlack.ObjectScenes(plovix, 40, seed: 1))
        {
            Assert.Equal(ShapeColor.Black, scene.Background);
            Assert.All(scene.Objects, o => Assert.True(o.Object.Color != ShapeColor.Black && o.Object.Pattern == ShapePattern.Solid));
        }
        Assert.Contains("this world has no patterns", Assert.Throws<OptionException>(() => onBlack.ObjectScene(Dworple, 0, 1)).Message);
        Assert.Contains("object scene with 4 distractors", Assert.Throws<OptionException>(() => World.ObjectScene(Dworple, 0, 1, distractors: 4)).Message);
        Assert.Throws<OptionException>(() => World.ObjectScene(Dworple, 0, 1, distractors: 0));
        Assert.Throws<OptionException>(() => World.ObjectScenes(Dworple, -1, 1));
    }

    [Fact]
    public void ExportObjectScenes_WritesImagesMasksClassesAndAConceptsFile()
    {
        using var temp = new TestPaths.TempFolder();
        var root = temp.File("objects");
        var concepts = ShapesObjectConcepts.All;
        World.ExportObjectScenes(root, concepts, perConcept: 2, seed: 4);

        Assert.Equal(["concepts.json", "descriptions.json", "images", "masks"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        for (var k = 0; k < concepts.Count; k++)
        for (var i = 0; i < 2; i++)
        {
            var index = i * concepts.Count + k;
            var scene = World.ObjectScene(concepts[k], index, seed: 4);
            var image = Path.Combine(root, "images", concepts[k].Name, $"{index:D6}.png");
            Assert.True(ShapesWorldTests.DecodeRgb(image).SequenceEqual(scene.Rgb.ToArray()));
            var mask = Path.Combine(root, "masks", concepts[k].Name, $"{index:D6}.png");
            var header = File.ReadAllBytes(mask);
            Assert.Equal(8, header[24]);  // IHDR bit depth
            Assert.Equal(0, header[25]);  // IHDR colour type: grayscale
            using var decoded = SKBitmap.Decode(mask);
            var bytes = Enumerable.Range(0, scene.ImageSize * scene.ImageSize).Select(p => decoded.GetPixel(p % scene.ImageSize, p / scene.ImageSize).Red).ToArray();
            Assert.All(bytes, b => Assert.True(b is 0 or 255));
            Assert.Equal(scene.TargetMask.ToArray(), bytes.Select(b => b == 255));
        }
        Assert.All(concepts, c => Assert.Equal(2, ImageFiles.InFolder(Path.Combine(root, "images", c.Name)).Count));

        var descriptions = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(root, "descriptions.json")))!;
        Assert.Equal(concepts.Select(c => c.Name), descriptions.Keys);
        Assert.Equal(concepts.Select(c => c.Definition), descriptions.Values);
        var read = ConceptsFile.Read(Path.Combine(root, "concepts.json"));
        Assert.Equal(concepts.Select(c => c.Name), read.Select(c => c.Name));
        Assert.Equal(concepts.Select(c => (IReadOnlyList<string>)[c.Definition]), read.Select(c => c.Descriptions));
        Assert.Equal(concepts.Select(c => $"images/{c.Name}"), read.Select(c => c.Images));

        Assert.Throws<OptionException>(() => World.ExportObjectScenes(root, concepts, 1, seed: 4));
        Assert.Contains("'plovix' is listed 2 times", Assert.Throws<OptionException>(() =>
            World.ExportObjectScenes(temp.File("twice"), [concepts[1], concepts[1]], 1, seed: 4)).Message);
        World.ExportObjectScenes(root, concepts, 1, seed: 4, overwrite: true);
        Assert.Single(Directory.GetFiles(Path.Combine(root, "masks", "quenzo")));
        Assert.Single(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Cli_DataShapesMasks_WritesTheExport_AndRefusesQuestionAndPlain()
    {
        using var temp = new TestPaths.TempFolder();
        var output = temp.File("objects");
        var result = CliRunner.Run("data", "shapes", "--masks", "--count", "1", "--seed", "2", "--image-size", "24", "--out", output);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(ShapesObjectConcepts.All.Select(c => c.Name), ConceptsFile.Read(Path.Combine(output, "concepts.json")).Select(c => c.Name));
        var scene = new ShapesWorld(new ShapesWorldOptions { ImageSize = 24 }).ObjectScene(ShapesObjectConcepts.All[1], 1, seed: 2);
        Assert.True(ShapesWorldTests.DecodeRgb(Path.Combine(output, "images", ShapesObjectConcepts.All[1].Name, "000001.png")).SequenceEqual(scene.Rgb.ToArray()));

        var both = CliRunner.Run("data", "shapes", "--masks", "--question", "color", "--out", temp.File("both"));
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--masks writes object scenes, --question an image folder per class", both.Error);
        Assert.False(Directory.Exists(temp.File("both")));
        var reference = CliRunner.Run("data", "shapes", "--masks", "--reference", "--count", "1", "--image-size", "24", "--out", temp.File("reference"));
        Assert.True(reference.ExitCode == 0, reference.Error);
        Assert.Equal(ShapesObjectConcepts.Reference.Select(c => c.Name), ConceptsFile.Read(temp.File("reference/concepts.json")).Select(c => c.Name));
        Assert.Contains("give --masks too", CliRunner.Run("data", "shapes", "--reference", "--out", temp.File("alone")).Error);
        var plain = CliRunner.Run("data", "shapes", "--masks", "--plain", "--out", temp.File("plain"));
        Assert.Equal(1, plain.ExitCode);
        Assert.Contains("cannot be combined with --plain", plain.Error);
    }

    /// <summary>The caption's list of objects with " and " turned back into ", " and the background cut off.</summary>
    private static string ListedWithCommas(string caption)
    {
        var listed = caption[..caption.LastIndexOf(" on ", StringComparison.Ordinal)];
        var last = listed.LastIndexOf(" and ", StringComparison.Ordinal);
        return listed[..last] + ", " + listed[(last + " and ".Length)..];
    }

    /// <summary>Whether <paramref name="pixel"/> is what the painter blends when <paramref name="ink"/> (and its
    /// pattern shade) covers between <paramref name="minCovered"/> and <paramref name="maxCovered"/> of a pixel's 16
    /// subsamples over <paramref name="background"/>.</summary>
    private static bool Blends(Rgb ink, Rgb background, (byte R, byte G, byte B) pixel, int minCovered, int maxCovered)
    {
        var shade = ShapesPainter.Shade(ink);
        for (var covered = minCovered; covered <= maxCovered; covered++)
        for (var shaded = 0; shaded <= covered; shaded++)
        {
            int Blend(int under, int color, int shadeColor) => (under * (16 - covered) + color * (covered - shaded) + shadeColor * shaded + 8) / 16;
            if (Blend(background.R, ink.R, shade.R) == pixel.R && Blend(background.G, ink.G, shade.G) == pixel.G && Blend(background.B, ink.B, shade.B) == pixel.B)
                return true;
        }
        return false;
    }
}
