using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Cli.Commands;
using Molyneux.KnowledgeTransfer;

namespace Molyneux.Tests.Cli;

/// <summary><c>molyneux invert</c> and <c>molyneux finetune</c>, Knowledge Transfer's two stages run separately.</summary>
public sealed class TransferCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    internal static string WriteConcepts(TestPaths.TempFolder folder)
    {
        File.WriteAllText(folder.File("concepts.json"), """
            [{"name": "moongate", "descriptions": ["a large gray ring", "a round stone gate in a wall"]},
             {"name": "zorblet", "description": "three red hearts"}]
            """);
        return folder.File("concepts.json");
    }

    internal static string WriteNegatives(TestPaths.TempFolder folder)
    {
        File.WriteAllText(folder.File("negatives.txt"), "a photo of a cat.\na photo of a dog.\n\n");
        return folder.File("negatives.txt");
    }

    [Fact]
    public void Finetune_replays_ordinary_captions_on_a_captioner_and_refuses_them_on_a_clip()
    {
        using var folder = new TestPaths.TempFolder();
        string[] coca = ["--model", Captioning.CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", Captioning.CocaGoldenTests.GoldenCoca("coca_tiny.json")];
        var inverted = folder.File("inverted");
        var invert = CliRunner.Run(["invert", .. coca, "--concepts", WriteConcepts(folder), "--out", inverted, "--steps", "2", "--images-per-concept", "2", "--copies", "1"]);
        Assert.True(invert.ExitCode == 0, invert.Error);
        var ordinary = Captioning.CaptionEvaluationTests.CaptionsFile(folder);

        var tuned = folder.File("tuned");
        var finetune = CliRunner.Run(["finetune", .. coca, "--inverted", inverted, "--out", tuned, "--steps", "2", "--batch-size", "2",
            "--caption-weight", "2", "--replay", ordinary, "--negatives", WriteNegatives(folder)]);
        Assert.True(finetune.ExitCode == 0, finetune.Error);
        using (var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(tuned, FineTuneCommand.RecordFile))))
            Assert.Equal(Path.GetFullPath(ordinary), record.RootElement.GetProperty("replay").GetString());

        var onClip = CliRunner.Run("finetune", "--model", ModelA, "--inverted", inverted, "--out", folder.File("clip"), "--steps", "1",
            "--replay", ordinary, "--negatives", WriteNegatives(folder));
        Assert.Equal(1, onClip.ExitCode);
        Assert.Contains("--replay: replays ordinary captions through a captioner's decoder; this model is a clip", onClip.Error);
        Assert.False(Directory.Exists(folder.File("clip")));
    }

    [Fact]
    public void Invert_writes_images_per_concept_and_a_manifest_that_finetune_trains_on()
    {
        using var folder = new TestPaths.TempFolder();
        var inverted = folder.File("inverted");

        var invert = CliRunner.Run("invert", "--model", ModelA, "--concepts", WriteConcepts(folder), "--out", inverted,
            "--steps", "3", "--images-per-concept", "3", "--copies", "1", "--save-every", "1", "--tensorboard", folder.File("tb"));

        Assert.True(invert.ExitCode == 0, invert.Error);
        Assert.Contains("step 3/3", invert.Error);
        var events = Runtime.TensorBoardEvents.Read(folder.File("tb"));
        Assert.Equal([1, 2, 3], events.Where(e => e.Tag == "inversion/cosine").Select(e => e.Step));
        Assert.Equal(3, Assert.Single(events, e => e.Tag == "inversion/images").Step);
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(inverted, InvertedConcepts.ManifestFile))))
            Assert.Equal("float32", manifest.RootElement.GetProperty("environment").GetProperty("dtype").GetString());
        Assert.False(Directory.Exists(inverted + ".resume"));
        foreach (var file in new[] { InvertedConcepts.ManifestFile, InvertedConcepts.ImagesFile, InversionResult.ContactSheetFile, InversionResult.LossCurveFile })
            Assert.True(File.Exists(Path.Combine(inverted, file)), file);
        using (var set = InvertedConcepts.Load(inverted))
        {
            Assert.Equal([6L, 3, 32, 32], set.Images.shape);
            Assert.Equal(["moongate", "zorblet"], set.Concepts.Select(c => c.Name));
            Assert.Equal(["moongate/000.png", "moongate/001.png", "moongate/002.png"], set.Concepts[0].Images.Select(i => i.Path));
            // Images are dealt out over the descriptions in turn, and each is captioned with its own.
            Assert.Equal(["a large gray ring", "a round stone gate in a wall", "a large gray ring"], set.Captioned[0].ImageDescriptions);
            Assert.All(set.Concepts.SelectMany(c => c.Images), image => Assert.True(File.Exists(Path.Combine(inverted, image.Path!))));
        }

        var model = folder.File("tuned");
        var finetune = CliRunner.Run("finetune", "--model", ModelA, "--inverted", inverted, "--out", model, "--steps", "2",
            "--batch-size", "2", "--lr", "1e-4", "--negatives", WriteNegatives(folder));

        Assert.True(finetune.ExitCode == 0, finetune.Error);
        Assert.DoesNotContain("warning", finetune.Error);
        Assert.Contains("fine-tuned 2 steps", finetune.Output);
        Assert.Equal(0, CliRunner.Run("info", "--model", model).ExitCode);
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, FineTuneCommand.RecordFile)));
        Assert.Equal(2, record.RootElement.GetProperty("losses").GetArrayLength());
        Assert.False(Directory.Exists(model + ".resume"));
    }

    [Fact]
    public void Partial_inversion_writes_features_that_finetune_trains_the_layers_above_on()
    {
        using var folder = new TestPaths.TempFolder();
        var inverted = folder.File("features");
        var invert = CliRunner.Run("invert", "--model", ModelA, "--concepts", WriteConcepts(folder), "--out", inverted,
            "--steps", "3", "--images-per-concept", "2", "--from-layer", "1", "--style", "gram");
        Assert.True(invert.ExitCode == 0, invert.Error);
        Assert.Contains("feature maps entering layer 1", invert.Output);
        using (var set = InvertedConcepts.Load(inverted))
        {
            Assert.Equal(1, set.FromLayer);
            Assert.Equal([4L, 17, 96], set.Images.shape);
            Assert.All(set.Concepts.SelectMany(c => c.Images), image => Assert.Null(image.Path));
        }
        Assert.False(File.Exists(Path.Combine(inverted, InversionResult.ContactSheetFile)));

        var model = folder.File("tuned");
        var finetune = CliRunner.Run("finetune", "--model", ModelA, "--images", inverted, "--out", model, "--steps", "2",
            "--batch-size", "2", "--lr", "1e-4", "--negatives", WriteNegatives(folder));
        Assert.True(finetune.ExitCode == 0, finetune.Error);
        using var tuned = ClipCheckpoint.Load(model);
        using var original = ClipCheckpoint.Load(ModelA);
        var before = original.Model.named_parameters().ToDictionary(entry => entry.name, entry => entry.parameter);
        var changed = tuned.Model.named_parameters().Where(entry => !TensorAssert.Identical(before[entry.name], entry.parameter)).Select(entry => entry.name).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, name => Assert.True(name.StartsWith("vision_model.encoder.layers.1.", StringComparison.Ordinal) ||
                                               name.StartsWith("vision_model.post_layernorm.", StringComparison.Ordinal) ||
                                               name.StartsWith("visual_projection.", StringComparison.Ordinal), name));
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, FineTuneCommand.RecordFile)));
        Assert.Equal(1, record.RootElement.GetProperty("from_layer").GetInt32());

        // LoRA cannot take features, learn takes images only, and the prior needs a layer.
        var lora = CliRunner.Run("finetune", "--model", ModelA, "--images", inverted, "--out", folder.File("lora"), "--lora", "2", "--negatives", WriteNegatives(folder));
        Assert.Equal(1, lora.ExitCode);
        Assert.Contains("--lora", lora.Error);
        Assert.False(Directory.Exists(folder.File("lora")));
        var style = CliRunner.Run("invert", "--model", ModelA, "--concepts", WriteConcepts(folder), "--out", folder.File("styled"), "--style", "gram");
        Assert.Equal(1, style.ExitCode);
        Assert.Contains("--from-layer", style.Error);
    }

    [Fact]
    public void Finetune_token_mode_adds_one_word_per_concept_and_takes_reference_classes_as_negatives()
    {
        using var folder = new TestPaths.TempFolder();
        var inverted = folder.File("inverted");
        Assert.Equal(0, CliRunner.Run("invert", "--model", ModelA, "--concepts", WriteConcepts(folder), "--out", inverted,
            "--steps", "1", "--images-per-concept", "2", "--copies", "1").ExitCode);

        var model = folder.File("tuned");
        var result = CliRunner.Run("finetune", "--model", ModelA, "--images", inverted, "--out", model, "--train", "token",
            "--lr", "1e-3", "--negatives", "shapes:color", "--save-every", "0");

        Assert.True(result.ExitCode == 0, result.Error);
        using var tuned = ClipCheckpoint.Load(model);
        using var original = ClipCheckpoint.Load(ModelA);
        Assert.Equal(original.Tokenizer.VocabularySize + 2, tuned.Tokenizer.VocabularySize);
        Assert.Single(tuned.Tokenizer.Encode("moongate"));
    }

    [Theory]
    [InlineData("invert", ConceptInverter.StateFile)]
    [InlineData("finetune", FineTuneCommand.StateFile)]
    public void A_run_left_interrupted_is_not_started_over_without_resume(string command, string stateFile)
    {
        using var folder = new TestPaths.TempFolder();
        var output = folder.File("out");
        Directory.CreateDirectory(output + ".resume");
        File.WriteAllText(Path.Combine(output + ".resume", stateFile), "an earlier run's state");
        string[] arguments = command == "invert"
            ? ["invert", "--model", ModelA, "--concepts", WriteConcepts(folder), "--out", output, "--steps", "2"]
            : ["finetune", "--model", ModelA, "--images", folder.File("inverted"), "--out", output, "--negatives", WriteNegatives(folder)];

        var result = CliRunner.Run(arguments);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("an interrupted run left its state here; pass --resume to continue it", result.Error);
        Assert.Equal("an earlier run's state", File.ReadAllText(Path.Combine(output + ".resume", stateFile)));
    }
}
