using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Tests.Captioning;
using System.Text.Json;

namespace Molyneux.Tests.Cli;

public sealed class LearnCommandTests
{
    [Fact]
    public void Learn_writes_the_taught_model_and_the_report()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """
            [{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"},
             {"name": "zorblet", "description": "three red hearts", "images": "shapes:zorblet"}]
            """);
        var (output, report) = (folder.File("taught"), folder.File("report"));
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", output, "--report", report, "--steps", "3", "--images-per-concept", "2", "--copies", "1",
            "--train", "image", "--lr", "1e-4", "--distractors", "3", "--tensorboard", folder.File("tb"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("moongate", result.Output);
        // In a log, each stage is a line of its own, followed by its steps.
        var stages = result.Error.Split('\n');
        Assert.Contains("measuring the model before", stages);
        Assert.Contains(stages, line => line.StartsWith("fine-tuning 1/1: ", StringComparison.Ordinal));
        var events = Runtime.TensorBoardEvents.Read(folder.File("tb"));
        Assert.Contains(events, e => e.Tag == "fine-tuning/trial01/loss" && e.Step == 1);
        Assert.Single(events, e => e.Tag == "inversion/images");
        Assert.Equal(1, Assert.Single(events, e => e.Tag == "fine-tuning/selection_gain").Step);
        Assert.Contains("reference top-1", result.Output);
        Assert.Equal(0, CliRunner.Run("info", "--model", output).ExitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        Assert.Equal(2, json.RootElement.GetProperty("concepts").GetArrayLength());
        Assert.Equal("image", json.RootElement.GetProperty("trials")[0].GetProperty("train").GetString());
        Assert.True(File.Exists(Path.Combine(report, "report.html")));
        Assert.Equal(TorchSharp.torch.get_num_threads(), json.RootElement.GetProperty("environment").GetProperty("threads").GetInt32());
    }

    /// <summary>Slow: the golden CoCa captions every concept and reference scene before and after (about 800 greedy
    /// captions with 255 image tokens each), minutes on 2 cores.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Learn_on_a_CoCa_writes_an_open_clip_folder_that_captions_and_reports_the_captions()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}]""");
        var (output, report) = (folder.File("taught"), folder.File("report"));
        var result = CliRunner.Run("learn", "--model", CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", CocaGoldenTests.GoldenCoca("coca_tiny.json"),
            "--concepts", folder.File("concepts.json"), "--eval", "shapes:shape", "--out", output, "--report", report, "--steps", "2", "--images-per-concept", "2",
            "--copies", "1", "--train", "image+decoder", "--lr", "1e-4", "--caption-weight", "2", "--select", "none", "--distractors", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Captions naming their concept", result.Output);
        Assert.True(File.Exists(Path.Combine(output, CocaCheckpoint.ConfigFileName)));
        Assert.Equal(0, CliRunner.Run("caption", "--model", output, "--image", Path.Combine(report, "real_concept000_image000.png")).ExitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        Assert.Equal(2, json.RootElement.GetProperty("trials")[0].GetProperty("caption_weight").GetDouble());
        Assert.Equal("image+decoder", json.RootElement.GetProperty("trials")[0].GetProperty("train").GetString());
        Assert.InRange(json.RootElement.GetProperty("summary").GetProperty("captioning").GetProperty("reference_cider_d_before").GetProperty("value").GetDouble(), 0, 10);
    }

    [Fact]
    public void Image_plus_decoder_on_a_model_without_a_decoder_stops_before_any_work()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}]""");
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", folder.File("taught"), "--train", "image+decoder", "--lr", "1e-4", "--select", "none");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--train image+decoder trains a captioner's text decoder", result.Error);
        Assert.DoesNotContain("inverting", result.Error);
        Assert.False(Directory.Exists(folder.File("taught")));
    }

    [Fact]
    public void Lr_auto_tries_every_half_decade_from_1e_5_to_1e_3_and_marks_one_trial_chosen()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}]""");
        var report = folder.File("report");
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", folder.File("taught"), "--report", report, "--steps", "2", "--images-per-concept", "2",
            "--copies", "1", "--train", "token", "--lr", "auto", "--distractors", "3");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var trials = json.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal([1e-5, 3e-5, 1e-4, 3e-4, 1e-3], trials.Select(trial => trial.GetProperty("learning_rate").GetDouble()));
        Assert.Single(trials, trial => trial.GetProperty("chosen").GetBoolean());
    }

    [Theory]
    [InlineData("""[{"name": "x", "description": "y", "images": "shapes:nonexistent"}]""", "nonexistent")]
    [InlineData("""[{"name": "x", "description": "y", "images": "no-such-folder"}]""", "images folder not found")]
    [InlineData("""{"name": "x"}""", "concepts.json")]
    public void Bad_concepts_files_are_named_and_nothing_is_written(string concepts, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), concepts);
        var result = CliRunner.Run("learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--eval", "shapes:color", "--out", folder.File("taught"), "--report", folder.File("report"), "--steps", "2");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("taught")));
        Assert.False(Directory.Exists(folder.File("report")));
    }

    [Fact]
    public void Demo_takes_another_concepts_file_and_refuses_a_bad_one_before_installing_or_loading_anything()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), """{"name": "x"}""");
        var result = CliRunner.Run("demo", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--home", folder.File("home"), "--out", folder.File("taught"), "--report", folder.File("report"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(folder.File("concepts.json"), result.Error);
        Assert.False(Directory.Exists(folder.File("home")));
        Assert.False(Directory.Exists(folder.File("taught")));
    }

    private static string[] Learn(TestPaths.TempFolder folder, string concepts, params string[] extra)
    {
        File.WriteAllText(folder.File("concepts.json"), concepts);
        return ["learn", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"), "--eval", "shapes:color",
            "--out", folder.File("taught"), "--report", folder.File("report"), "--steps", "2", "--images-per-concept", "2", "--distractors", "3", .. extra];
    }

    private const string Moongate = """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}]""";

    [Fact]
    public void Lists_of_modes_learning_rates_and_distillation_weights_are_the_grid_and_the_inversion_options_are_recorded()
    {
        using var folder = new TestPaths.TempFolder();
        var result = CliRunner.Run(Learn(folder, Moongate, "--train", "image,text", "--lr", "1e-4, 1e-3", "--distill", "0,2", "--reference-templates", "a_photo", "--resolutions", "16,32", "--resolution-steps", "1",
            "--scale-range", "0.7,1.0", "--tv-weight", "0.01", "--inversion-lr", "0.05", "--loss", "symmetric", "--optimizer", "adamw"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("name top-1 gain", result.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.File("report"), "report.json")));
        var root = json.RootElement;
        Assert.Equal(from train in new[] { "image", "text" } from rate in new[] { 1e-4, 1e-3 } from weight in new[] { 0.0, 2.0 } select (train, rate, weight),
            root.GetProperty("trials").EnumerateArray().Select(trial =>
                (trial.GetProperty("train").GetString(), trial.GetProperty("learning_rate").GetDouble(), trial.GetProperty("distill_weight").GetDouble())));
        var options = root.GetProperty("options");
        var inversion = options.GetProperty("inversion");
        var augmentation = inversion.GetProperty("augmentation");
        Assert.Equal((0.7, 1.0), (augmentation.GetProperty("min_scale").GetDouble(), augmentation.GetProperty("max_scale").GetDouble()));
        Assert.Equal([(0, 16), (1, 32)], inversion.GetProperty("resolutions").EnumerateArray().Select(stage => (stage.GetProperty("from_step").GetInt32(), stage.GetProperty("size").GetInt32())));
        Assert.Equal(0.01, inversion.GetProperty("total_variation_weight").GetDouble());
        Assert.Equal(0.05, inversion.GetProperty("learning_rate").GetDouble());
        var fineTune = options.GetProperty("fine_tune");
        Assert.Equal(("symmetric", "adamw", "validation"), (fineTune.GetProperty("loss").GetString(), fineTune.GetProperty("optimizer").GetString(), options.GetProperty("selection").GetString()));
        Assert.Equal(1, inversion.GetProperty("augmented_copies").GetInt32());
        Assert.Equal([0.0, 2.0], options.GetProperty("distill_weights").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal("a_photo", root.GetProperty("reference").GetProperty("forgetting_templates").GetString());
    }

    [Fact]
    public void Per_concept_teaches_each_concept_alone_into_a_folder_of_its_own()
    {
        using var folder = new TestPaths.TempFolder();
        const string two = """[{"name": "moongate", "description": "a large gray ring on a green background", "images": "shapes:moongate"}, {"name": "zorblet", "description": "three red hearts", "images": "shapes:zorblet"}]""";
        var result = CliRunner.Run(Learn(folder, two, "--per-concept", "--lr", "1e-4"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("teaching 'zorblet' alone (2/2)", result.Error);
        Assert.Contains("name top-1 gain", result.Output);
        foreach (var name in new[] { "moongate", "zorblet" })
        {
            Assert.True(File.Exists(Path.Combine(folder.File("taught"), name, "config.json")), name);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.File("report"), name, "report.json")));
            Assert.Equal([name], json.RootElement.GetProperty("taught").EnumerateArray().Select(e => e.GetString()));
        }
        var summary = File.ReadAllLines(Path.Combine(folder.File("report"), "summary.md"));
        Assert.StartsWith("| concept (taught alone) |", summary[0]);
        Assert.StartsWith("| zorblet | ", summary[3]);
    }

    [Theory]
    [InlineData(new[] { "--select", "none" }, "--select none")]
    [InlineData(new[] { "--lr", "1e-4,fast" }, "'fast' is not a number")]
    [InlineData(new[] { "--scale-range", "1.2" }, "--scale-range")]
    [InlineData(new[] { "--resolutions", "16,32" }, "--resolution-steps")]
    [InlineData(new[] { "--resolutions", "16,64", "--resolution-steps", "1", "--lr", "1e-4" }, "model's image size 32")]
    [InlineData(new[] { "--loss", "hinge" }, "--loss")]
    [InlineData(new[] { "--select", "test" }, "--select")]
    [InlineData(new[] { "--distill", "-1" }, "--distill")]
    [InlineData(new[] { "--reference-templates", "fancy" }, "--reference-templates: 'fancy' is neither")]
    [InlineData(new[] { "--train", "image,tail" }, "'tail' is not a training mode")]
    [InlineData(new[] { "--lora", "4", "--train", "auto" }, "--lora")]
    public void Bad_options_stop_the_run_with_a_message_and_write_nothing(string[] options, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        var result = CliRunner.Run(Learn(folder, Moongate, options));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("taught")));
        Assert.False(Directory.Exists(folder.File("report")));
    }

    [Fact]
    public void Token_mode_teaches_a_two_word_name_as_one_token_that_the_saved_vocabulary_keeps()
    {
        using var folder = new TestPaths.TempFolder();
        const string hotDog = """[{"name": "hot dog", "description": "a sausage in a long bun", "images": "shapes:moongate"}]""";
        var result = CliRunner.Run(Learn(folder, hotDog, "--train", "token", "--lr", "1e-3"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("\"hot dog\": 49408", File.ReadAllText(Path.Combine(folder.File("taught"), "added_tokens.json")));
        using var taught = ClipCheckpoint.Load(folder.File("taught"));
        Assert.Single(taught.Tokenizer.Encode("hot dog"));
    }

    [Fact]
    public void A_saved_inversion_is_reused_instead_of_inverting_again_and_a_mismatched_one_is_refused()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("concepts.json"), Moongate);
        var inverted = folder.File("inverted");
        var invert = CliRunner.Run("invert", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--out", inverted, "--steps", "2", "--images-per-concept", "3");
        Assert.True(invert.ExitCode == 0, invert.Error);

        var result = CliRunner.Run(Learn(folder, Moongate, "--inverted", inverted, "--lr", "1e-4"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("inverting the image encoder", result.Error);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.File("report"), "report.json"))))
        {
            Assert.Equal(Path.GetFullPath(inverted), json.RootElement.GetProperty("inverted").GetString());
            Assert.Equal(3, json.RootElement.GetProperty("options").GetProperty("inversion").GetProperty("images_per_concept").GetInt32());
            Assert.Equal(3, json.RootElement.GetProperty("concepts")[0].GetProperty("inverted_images").GetArrayLength());
        }

        const string other = """[{"name": "zorblet", "description": "three red hearts", "images": "shapes:zorblet"}]""";
        var refused = CliRunner.Run(Learn(folder, other, "--inverted", inverted, "--lr", "1e-4", "--overwrite"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("holds the concepts moongate, but the concepts file lists zorblet", refused.Error);

        var features = folder.File("features");
        Assert.Equal(0, CliRunner.Run("invert", "--model", TestPaths.GoldenClip("model_a/hf"), "--concepts", folder.File("concepts.json"),
            "--out", features, "--steps", "1", "--images-per-concept", "2", "--from-layer", "1").ExitCode);
        var notImages = CliRunner.Run(Learn(folder, Moongate, "--inverted", features, "--lr", "1e-4", "--overwrite"));
        Assert.Equal(1, notImages.ExitCode);
        Assert.Contains("features entering layer 1, not images", notImages.Error);
    }
}

