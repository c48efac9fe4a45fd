using System.CommandLine;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Cli;
using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Tests.Captioning;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary>One CLI: <c>--json [FILE]</c> means the same in every command (alone: the JSON on stdout and nothing else;
/// with a file: the file written and the usual output printed), <c>--image</c>/<c>--text</c> everywhere with the old
/// spellings kept as aliases that warn, and preset names wherever a config is taken.</summary>
public sealed class ConsistentCliTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    private static readonly string[] Texts = ["a red square", "a blue square"];

    private static string WriteColourImages(TestPaths.TempFolder folder)
    {
        var images = folder.File("images");
        Directory.CreateDirectory(images);
        ImageDecoder.SavePng(Path.Combine(images, "red.png"), ones(3, 32, 32) * tensor(new[] { 1f, 0f, 0f }).view(3, 1, 1));
        ImageDecoder.SavePng(Path.Combine(images, "blue.png"), ones(3, 32, 32) * tensor(new[] { 0f, 0f, 1f }).view(3, 1, 1));
        return images;
    }

    private static (bool Given, string? File, int Other) ParseJson(params string[] args)
    {
        var json = new JsonOutputOption("test");
        var other = new Option<int>("--other");
        var command = new RootCommand { json.Option, other };
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        return (json.Given(parse), json.File(parse), parse.GetValue(other));
    }

    [Fact]
    public void Json_option_tells_absent_from_alone_from_a_file_and_leaves_the_next_option_alone()
    {
        Assert.Equal((false, null, 0), ParseJson());
        Assert.Equal((true, null, 0), ParseJson("--json"));
        Assert.Equal((true, null, 3), ParseJson("--json", "--other", "3"));
        Assert.Equal((true, "out.json", 3), ParseJson("--json", "out.json", "--other", "3"));
        Assert.Equal((true, "out.json", 3), ParseJson("--other", "3", "--json=out.json"));
    }

    [Fact]
    public void Similarity_json_alone_prints_only_json_and_json_file_writes_it_and_prints_the_table()
    {
        using var folder = new TestPaths.TempFolder();
        var images = WriteColourImages(folder);
        string[] similarity = ["similarity", "--model", ModelA, "--image", images, "--text", .. Texts];

        var printed = CliRunner.Run([.. similarity, "--json"]);
        Assert.True(printed.ExitCode == 0, printed.Error);
        Assert.Equal("", printed.Error);
        using var document = JsonDocument.Parse(printed.Output);
        Assert.Equal([Path.Combine(images, "blue.png"), Path.Combine(images, "red.png")],
            document.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Texts, document.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()));

        // --json FILE before the other options: the file is its value, the texts still the texts.
        var file = folder.File("out/similarity.json");
        var written = CliRunner.Run(["similarity", "--json", file, "--model", ModelA, "--image", images, "--text", .. Texts]);
        Assert.True(written.ExitCode == 0, written.Error);
        Assert.Contains("cosine similarity", written.Output);
        Assert.Contains("a blue square", written.Output);
        Assert.Equal(printed.Output, File.ReadAllText(file));
    }

    [Fact]
    public void Embed_json_alone_prints_only_json_and_json_file_writes_it_and_prints_the_table()
    {
        using var folder = new TestPaths.TempFolder();
        var images = WriteColourImages(folder);

        var printed = CliRunner.Run("embed", "--model", ModelA, "--image", images, "--text", "a cat", "--json");
        Assert.True(printed.ExitCode == 0, printed.Error);
        using var document = JsonDocument.Parse(printed.Output);
        Assert.Equal(["a cat"], document.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("text").GetString()));
        Assert.Equal([Path.Combine(images, "blue.png"), Path.Combine(images, "red.png")],
            document.RootElement.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("source").GetString()));
        Assert.All(document.RootElement.GetProperty("images").EnumerateArray(), i => Assert.Equal(64, i.GetProperty("embedding").GetArrayLength()));

        var file = folder.File("embed.json");
        var written = CliRunner.Run("embed", "--model", ModelA, "--json", file, "--image", images, "--text", "a cat");
        Assert.True(written.ExitCode == 0, written.Error);
        Assert.Contains("first values", written.Output);
        Assert.Contains("text: a cat", written.Output);
        Assert.Equal(printed.Output, File.ReadAllText(file));
    }

    [Fact]
    public void Eval_classify_json_alone_prints_the_report_and_json_file_writes_it_and_prints_the_table()
    {
        using var folder = new TestPaths.TempFolder();
        var data = folder.File("colours");
        foreach (var (name, rgb) in new[] { ("blue", new[] { 0f, 0f, 1f }), ("red", new[] { 1f, 0f, 0f }) })
        for (var i = 0; i < 2; i++)
            ImageDecoder.SavePng(Path.Combine(data, name, $"{i}.png"), ones(3, 32, 32) * tensor(rgb).view(3, 1, 1) * (1f - 0.2f * i));
        string[] classify = ["eval", "classify", "--model", ModelA, "--data", data, "--templates", "a_photo", "--no-cache"];

        var printed = CliRunner.Run([.. classify, "--json"]);
        Assert.True(printed.ExitCode == 0, printed.Error);
        Assert.DoesNotContain("top-1", printed.Output);
        File.WriteAllText(folder.File("printed.json"), printed.Output);
        var report = Assert.IsType<ClassificationReport>(EvaluationReport.Load(folder.File("printed.json")));
        Assert.Equal(4, report.Dataset.NumImages);

        var written = CliRunner.Run([.. classify, "--json", folder.File("report.json")]);
        Assert.True(written.ExitCode == 0, written.Error);
        Assert.Contains("top-1", written.Output);
        var saved = Assert.IsType<ClassificationReport>(EvaluationReport.Load(folder.File("report.json")));
        Assert.Equal(report.Metrics.Top1, saved.Metrics.Top1);

        // CLIP_benchmark's dict, printed the same way.
        var clipBenchmark = CliRunner.Run([.. classify, "--format", "clip_benchmark", "--json"]);
        Assert.True(clipBenchmark.ExitCode == 0, clipBenchmark.Error);
        using var result = PythonJson.Parse(clipBenchmark.Output, "stdout");
        Assert.Equal("zeroshot_classification", result.RootElement.GetProperty("task").GetString());
        Assert.Equal(report.Metrics.Top1, result.RootElement.GetProperty("metrics").GetProperty("acc1").GetDouble());
        // In a file, byte for byte what CLIP_benchmark's json.dump writes: no final newline.
        var clipBenchmarkFile = CliRunner.Run([.. classify, "--format", "clip_benchmark", "--json", folder.File("result.json")]);
        Assert.True(clipBenchmarkFile.ExitCode == 0, clipBenchmarkFile.Error);
        Assert.Contains("top-1", clipBenchmarkFile.Output);
        Assert.Equal(clipBenchmark.Output, File.ReadAllText(folder.File("result.json")) + "\n");
    }

    [Fact]
    public void Old_spellings_still_work_and_each_warns_once()
    {
        using var folder = new TestPaths.TempFolder();
        var images = WriteColourImages(folder);
        var old = CliRunner.Run("similarity", "--model", ModelA, "--images", Path.Combine(images, "red.png"), "--images", Path.Combine(images, "blue.png"),
            "--texts", "a red square", "--texts", "a blue square", "--json");
        Assert.True(old.ExitCode == 0, old.Error);
        Assert.Equal(["warning: --images is deprecated; use --image", "warning: --texts is deprecated; use --text"],
            old.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        using var document = JsonDocument.Parse(old.Output);
        Assert.Equal([Path.Combine(images, "red.png"), Path.Combine(images, "blue.png")],
            document.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Texts, document.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()));

        // finetune's --images (the folder invert wrote) is now --inverted; the warning comes before the command's own error.
        var finetune = CliRunner.Run("finetune", "--model", ModelA, "--images", folder.File("absent"), "--out", folder.File("tuned"));
        Assert.Equal(1, finetune.ExitCode);
        Assert.StartsWith("warning: --images is deprecated; use --inverted\n", finetune.Error.ReplaceLineEndings("\n"));
        Assert.Contains("--inverted", CliRunner.Run("finetune", "--help").Output);
    }

    [Fact]
    public void Config_takes_a_preset_name()
    {
        using var folder = new TestPaths.TempFolder();
        var weights = folder.File("micro.safetensors");
        using (var model = new ClipModel(ClipConfig.Preset("molyneux-micro")))
            ClipCheckpoint.SaveOpenAi(model, weights);

        // Without a config the heads are guessed as width / 64 = 1; the preset says 2.
        var guessed = CliRunner.Run("info", "--model", weights, "--json");
        Assert.True(guessed.ExitCode == 0, guessed.Error);
        Assert.Contains("\"text width / layers / heads\": \"64 / 2 / 1\"", guessed.Output);
        var preset = CliRunner.Run("info", "--model", weights, "--config", "molyneux-micro", "--json");
        Assert.True(preset.ExitCode == 0, preset.Error);
        Assert.Contains("\"text width / layers / heads\": \"64 / 2 / 2\"", preset.Output);
        Assert.Contains("\"vision width / layers / heads\": \"64 / 2 / 2\"", preset.Output);
    }

    [Fact]
    public void A_config_that_is_neither_a_file_nor_a_preset_is_refused_with_the_presets_listed()
    {
        var result = CliRunner.Run("info", "--model", ModelA, "--config", "ViT-B-99");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: ViT-B-99: file not found, and not the name of a shipped preset either " +
                     $"(presets: {string.Join(", ", ClipConfig.PresetNames)})", result.Error.Trim());
        Assert.Contains("ViT-B-32", result.Error);

        var pretrain = CliRunner.Run("pretrain", "--data", "shapes", "--preset", "ViT-B-99", "--out", "/nonexistent/out");
        Assert.NotEqual(0, pretrain.ExitCode);
        Assert.Contains("--preset: expected micro, tiny, small, a shipped preset (ViT-B-16, ViT-B-32", pretrain.Error);

        var caption = CliRunner.Run("caption", "--model", CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", "ViT-B-32", "--pixels", "/nonexistent.safetensors");
        Assert.Equal(1, caption.ExitCode);
        Assert.Contains("--config: ViT-B-32 is a CLIP preset, not a CoCa's", caption.Error);
    }

    [Fact]
    public void Pretrain_takes_a_shipped_preset_by_its_full_name()
    {
        using var folder = new TestPaths.TempFolder();
        var result = CliRunner.Run("pretrain", "--data", "shapes", "--preset", "molyneux-micro", "--steps", "1", "--batch-size", "4",
            "--vocab-size", "600", "--shapes-count", "8", "--out", folder.File("micro"), "--quiet");
        Assert.True(result.ExitCode == 0, result.Error);
        var info = CliRunner.Run("info", "--model", folder.File("micro"), "--json");
        Assert.Contains("\"text width / layers / heads\": \"64 / 2 / 2\"", info.Output);
    }
}
