using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

public sealed class FoundationCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    [Fact]
    public void Help_lists_the_commands()
    {
        var result = CliRunner.Run("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "info", "embed", "similarity", "convert" })
            Assert.Contains(command, result.Output);
        var embedHelp = CliRunner.Run("embed", "--help");
        Assert.Equal(0, embedHelp.ExitCode);
        Assert.Contains("--pixels", embedHelp.Output);
    }

    [Fact]
    public void Info_reports_the_architecture_as_json()
    {
        var result = CliRunner.Run("info", "--model", ModelA, "--json");
        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.Output);
        var root = document.RootElement;
        Assert.Equal("huggingface", root.GetProperty("naming").GetString());
        Assert.Equal("96 / 2 / 1", root.GetProperty("vision width / layers / heads").GetString());
        Assert.Equal("64 / 2 / 4", root.GetProperty("text width / layers / heads").GetString());
        var total = root.GetProperty("parameters, total").GetInt64();
        Assert.Equal(root.GetProperty("parameters, image tower").GetInt64() + root.GetProperty("parameters, text tower").GetInt64() + 96 * 64 + 64 * 64 + 1, total);
    }

    [Fact]
    public void Info_on_a_CoCa_counts_its_decoder_and_every_parameter_once()
    {
        var result = CliRunner.Run("info", "--model", Captioning.CocaGoldenTests.GoldenCoca("model.safetensors.gz"),
            "--config", Captioning.CocaGoldenTests.GoldenCoca("coca_tiny.json"), "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Output);
        var root = document.RootElement;
        Assert.Equal("coca", root.GetProperty("model type").GetString());
        Assert.Equal("open_clip", root.GetProperty("layout").GetString());
        long Count(string name) => root.GetProperty($"parameters, {name}").GetInt64();
        // Besides the towers and the decoder: the two 64 × 64 projections and the temperature.
        Assert.Equal(Count("image tower") + Count("text tower") + Count("text decoder") + 2 * 64 * 64 + 1, Count("total"));
    }

    [Fact]
    public void Info_prints_a_table()
    {
        var result = CliRunner.Run("info", "--model", ModelA);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("image size / patch", result.Output);
        Assert.Contains("32 / 8", result.Output);
    }

    [Fact]
    public void Embed_json_reproduces_the_golden_features_from_pixels_and_texts()
    {
        using var folder = new TestPaths.TempFolder();
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/golden_io.safetensors"));
        var pixelsFile = folder.File("pixels.safetensors");
        SafetensorsFile.Write(pixelsFile, [new("pixel_values", golden.Read("input.pixel_values"))]);
        var captions = JsonSerializer.Deserialize<string[]>(golden.Metadata["captions"])!;

        var result = CliRunner.Run(["embed", "--model", ModelA, "--pixels", pixelsFile, "--text", .. captions, "--json"]);
        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.Output);
        var texts = document.RootElement.GetProperty("texts").EnumerateArray().ToArray();
        var images = document.RootElement.GetProperty("images").EnumerateArray().ToArray();
        Assert.Equal(captions, texts.Select(t => t.GetProperty("text").GetString()));
        Assert.Equal([$"{pixelsFile}#0", $"{pixelsFile}#1", $"{pixelsFile}#2"], images.Select(i => i.GetProperty("source").GetString()));
        AssertRowsClose(golden.Read("text_features"), texts);
        AssertRowsClose(golden.Read("image_features"), images);
    }

    private static void AssertRowsClose(Tensor expected, JsonElement[] rows)
    {
        Assert.Equal(expected.shape[0], rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var actual = rows[i].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var reference = expected[i].data<float>().ToArray();
            Assert.Equal(reference.Length, actual.Length);
            Assert.True(reference.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4, $"row {i} differs");
        }
    }

    [Fact]
    public void Similarity_scores_images_against_texts()
    {
        using var folder = new TestPaths.TempFolder();
        ImageDecoder.SavePng(folder.File("red.png"), ones(3, 40, 40) * tensor(new[] { 1f, 0f, 0f }).view(3, 1, 1));
        ImageDecoder.SavePng(folder.File("blue.png"), ones(3, 40, 40) * tensor(new[] { 0f, 0f, 1f }).view(3, 1, 1));
        string[] texts = ["a red square", "a blue square", "a cat"];

        var result = CliRunner.Run(["similarity", "--model", ModelA, "--images", folder.Path, "--texts", .. texts, "--json"]);
        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.Output);
        var root = document.RootElement;
        Assert.Equal([folder.File("blue.png"), folder.File("red.png")], root.GetProperty("images").EnumerateArray().Select(e => e.GetString()));
        var cosine = root.GetProperty("cosine").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var probabilities = root.GetProperty("probabilities").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.All(probabilities, row => Assert.Equal(1.0, row.Sum(), 4));

        using var clip = ClipCheckpoint.Load(ModelA);
        using var image = nn.functional.normalize(clip.EncodeImages([folder.File("blue.png"), folder.File("red.png")]), dim: -1);
        using var text = nn.functional.normalize(clip.EncodeTexts(texts), dim: -1);
        using var expected = image.matmul(text.t());
        for (var i = 0; i < 2; i++)
        for (var t = 0; t < 3; t++)
            Assert.Equal(expected[i, t].item<float>(), cosine[i][t], 4);

        var table = CliRunner.Run(["similarity", "--model", ModelA, "--images", folder.File("red.png"), "--texts", .. texts]);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("a blue square", table.Output);
    }

    [Fact]
    public void Convert_writes_a_directory_that_loads_back()
    {
        using var folder = new TestPaths.TempFolder();
        var target = folder.File("converted");
        var result = CliRunner.Run("convert", "--model", TestPaths.GoldenClip("model_b/openai/model.safetensors.gz"), "--text-heads", "6", "--vision-heads", "2", "--out", target);
        Assert.Equal(0, result.ExitCode);
        var info = CliRunner.Run("info", "--model", target, "--json");
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("\"text width / layers / heads\": \"96 / 3 / 6\"", info.Output);
        var again = CliRunner.Run("convert", "--model", target, "--out", target);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already exists", again.Error);
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        var result = CliRunner.Run("info", "--model", "/nonexistent/model", "--verbose");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("   at ", result.Error);
    }
}
