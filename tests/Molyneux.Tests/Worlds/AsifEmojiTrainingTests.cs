using System.Text;
using Molyneux.Asif;
using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Worlds;
using Molyneux.Worlds.Emoji;

namespace Molyneux.Tests.Worlds;

/// <summary>Training the unimodal encoders and running the acceptance experiment end to end, on a made-up emoji
/// install of six emoji in four vendor styles (discs of distinct colours), a few steps each: the real install and
/// minutes of training are not needed to check that the pieces fit.</summary>
public sealed class AsifEmojiTrainingTests
{
    private static readonly (string Name, string Hex, (byte, byte, byte) Colour)[] Emoji =
    [
        ("apple", "1F34E", (220, 30, 30)), ("lime", "1F34F", (60, 200, 40)), ("ocean", "1F30A", (30, 60, 220)),
        ("sun", "1F31E", (240, 220, 30)), ("grape", "1F347", (130, 40, 160)), ("coal", "1FAA8", (40, 40, 40)),
    ];

    private static EmojiManifest WriteSmallWorld(string home)
    {
        var folder = Path.Combine(home, "emoji");
        var datasource = Emoji.Select((emoji, i) =>
            $$"""{"name": "{{emoji.Name.ToUpperInvariant()}}", "unified": "{{emoji.Hex}}", "image": "{{emoji.Hex.ToLowerInvariant()}}.png", "short_name": "{{emoji.Name}}", "category": "Things", "subcategory": "things-{{i % 2}}", "sort_order": {{i}}}""");
        var emojibase = Emoji.Select(emoji => $$"""{"label": "{{emoji.Name}}", "hexcode": "{{emoji.Hex}}", "tags": ["{{emoji.Name}}ish", "thing"]}""");
        Write(Path.Combine(folder, "metadata/emoji-datasource/emoji.json"), "[" + string.Join(",", datasource) + "]");
        Write(Path.Combine(folder, "metadata/emojibase-data/data.json"), "[" + string.Join(",", emojibase) + "]");
        foreach (var (style, offset) in new[] { ("google", 0), ("apple", 4), ("facebook", 8), ("twitter", 12) })
            foreach (var (_, hex, colour) in Emoji)
            {
                var path = Path.Combine(folder, "images", style, hex.ToLowerInvariant() + ".png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, Paint.Png(Paint.Disc(64, 32, 32, 16 + offset, colour), 64));
            }
        return EmojiManifest.Build(folder, new Dictionary<string, string>());
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, Encoding.UTF8);
    }

    [Fact]
    public void Both_encoders_train_without_the_other_modality_into_loadable_HF_folders_and_the_experiment_runs_on_them()
    {
        using var temp = new TestPaths.TempFolder();
        var manifest = WriteSmallWorld(temp.Path);
        var split = new EmojiSplitOptions { HeldOutConcepts = [new DescribedConcept("coal", ["black lump"], "emoji:coal")] };
        var output = temp.File("encoders");
        EmojiAsifEncoders.Train(manifest, output, new EncoderTrainingOptions { Steps = 2, BatchSize = 4 }, splitOptions: split);

        using var image = ClipVisionEncoder.Load(Path.Combine(output, EmojiAsifEncoders.ImageFolder));
        using var text = ClipTextEncoder.Load(Path.Combine(output, EmojiAsifEncoders.TextFolder));
        Assert.Equal(EmojiImageEncoderTrainer.ProjectionDim, image.EmbeddingSize);
        Assert.Equal(EmojiTextEncoderTrainer.ProjectionDim, text.EmbeddingSize);
        Assert.Equal(EmojiTextEncoderTrainer.Shape.HiddenSize, text.Model.Config.Text.HiddenSize);

        var result = EmojiAsifExperiment.Run(manifest, image, text, splitOptions: split);
        Assert.Equal((15, 5, 5), (result.Anchors, result.TestImages, result.Classes));
        Assert.InRange(result.Top1, 0, 1);
        Assert.Equal(1.0, result.Top5);
        Assert.Equal(result.Anchors, result.ByAnchors[^1].Setting);
        Assert.Equal(["fp16", "int8", "fp32"], result.ByStorage.Keys);
        Assert.Equal(1.0, result.Unknown.Accuracy + result.Unknown.Unknown + result.Unknown.Wrong, 9);
        Assert.Null(result.Centring);

        // Without --centre, centring is chosen on the validation split (facebook's discs, google's and apple's anchors).
        var chosen = EmojiAsifExperiment.Run(manifest, image, text, splitOptions: split, centre: null);
        Assert.NotNull(chosen.Centring);
        Assert.Equal("facebook", chosen.Centring!.ValidationStyle);
        Assert.Equal(chosen.Centring.CentredTop1 > chosen.Centring.UncentredTop1, chosen.Centred);
        var given = EmojiAsifExperiment.Run(manifest, image, text, splitOptions: split, centre: chosen.Centred);
        Assert.Equal((given.Top1, given.Top5), (chosen.Top1, chosen.Top5));
    }
}
