using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Tests.Captioning;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary><c>molyneux caption</c> on the golden tiny CoCa (../shared/golden/coca): its stored greedy captions through
/// the CLI, images from files and folders, and bad input refused with one line naming the file or option, exit code
/// 1 and nothing on stdout.</summary>
public sealed class CaptionCommandTests
{
    private static string Weights => CocaGoldenTests.GoldenCoca("model.safetensors.gz");

    private static string Config => CocaGoldenTests.GoldenCoca("coca_tiny.json");

    /// <summary>The golden images, already normalised, as a --pixels file.</summary>
    internal static string PixelsFile(TestPaths.TempFolder folder)
    {
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        var path = folder.File("pixels.safetensors");
        SafetensorsFile.Write(path, [new("pixel_values", golden.Read("input.pixel_values"))]);
        return path;
    }

    /// <summary>The golden images before normalisation, as 32×32 PNG files (rounded to bytes).</summary>
    internal static string[] PngFiles(TestPaths.TempFolder folder)
    {
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        using var images = golden.Read("input.pixel_values_unnormalized");
        Directory.CreateDirectory(folder.File("images"));
        return [.. Enumerable.Range(0, 3).Select(i =>
        {
            var path = folder.File(Path.Combine("images", $"image{i}.png"));
            using var image = images[i];
            ImageDecoder.SavePng(path, image);
            return path;
        })];
    }

    private static string[] Caption(params string[] extra) => ["caption", "--model", Weights, "--config", Config, "--device", "cpu", .. extra];

    [Fact]
    public void Json_gives_the_golden_greedy_captions_with_their_text()
    {
        using var folder = new TestPaths.TempFolder();
        var pixels = PixelsFile(folder);
        var result = CliRunner.Run(Caption("--pixels", pixels, "--json"));
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Output);
        var captions = document.RootElement.GetProperty("captions").EnumerateArray().ToArray();
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        using var expected = golden.Read("generate.greedy.ids");
        Assert.Equal(3, captions.Length);
        for (var i = 0; i < captions.Length; i++)
        {
            var ids = captions[i].GetProperty("ids").EnumerateArray().Select(id => id.GetInt64()).ToArray();
            Assert.Equal($"{pixels}#{i}", captions[i].GetProperty("source").GetString());
            Assert.Equal(expected[i].data<long>().ToArray(), ids);
            var text = ClipTokenizer.OpenAiDefault().Decode(ids[1..].Select(id => (int)id)).Trim();
            Assert.Equal(text, captions[i].GetProperty("text").GetString());
        }
    }

    [Fact]
    public void Plain_output_is_one_line_per_image_from_files_or_a_folder()
    {
        using var folder = new TestPaths.TempFolder();
        var files = PngFiles(folder);
        var fromFiles = CliRunner.Run(Caption(["--image", .. files, "--generation", "beam", "--beams", "2", "--max-length", "8"]));
        Assert.True(fromFiles.ExitCode == 0, fromFiles.Error);
        var lines = fromFiles.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(files.Length, lines.Length);
        for (var i = 0; i < files.Length; i++)
            Assert.StartsWith($"{files[i]}: ", lines[i]);
        // Not a terminal: progress is a line on stderr (every 5 %, and at the end), never mixed into the captions.
        Assert.Contains($"step {files.Length}/{files.Length} (100%), images", fromFiles.Error);

        var fromFolder = CliRunner.Run(Caption("--images", folder.File("images"), "--generation", "beam", "--beams", "2", "--max-length", "8"));
        Assert.True(fromFolder.ExitCode == 0, fromFolder.Error);
        Assert.Equal(fromFiles.Output, fromFolder.Output);
    }

    [Fact]
    public void Html_shows_each_image_as_the_model_sees_it_beside_the_caption_json_gives()
    {
        using var folder = new TestPaths.TempFolder();
        var files = PngFiles(folder);
        var pixels = PixelsFile(folder);
        var page = folder.File("captions.html");
        var result = CliRunner.Run(Caption(["--image", .. files, "--pixels", pixels, "--max-length", "8", "--json", "--html", page]));
        Assert.True(result.ExitCode == 0, result.Error);

        using var document = JsonDocument.Parse(result.Output);
        var captions = document.RootElement.GetProperty("captions").EnumerateArray().ToArray();
        var html = File.ReadAllText(page);
        var rows = CaptionPageTests.Rows(html);
        Assert.Equal(6, rows.Count);
        Assert.Equal(captions.Select(caption => caption.GetProperty("text").GetString()), rows.Select(row => row.Caption));
        Assert.Equal(captions.Select(caption => caption.GetProperty("source").GetString()), rows.Select(row => row.Source));
        Assert.All(rows, row => Assert.Empty(row.References));
        Assert.Contains($"model {Weights}; greedy, 5–8 ids", html);
        // The files and the pixels are the same three golden images, which the model takes at their size (32×32).
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        using var images = golden.Read("input.pixel_values_unnormalized");
        for (var i = 0; i < rows.Count; i++)
        {
            using var shown = CaptionPageTests.Decode(rows[i].Png, folder);
            using var expected = images[i % 3];
            TensorAssert.Close(expected, shown, 1.0 / 255 + 1e-5);
        }
    }

    [Fact]
    public void Html_that_cannot_be_written_is_refused_naming_the_file_and_nothing_is_printed()
    {
        using var folder = new TestPaths.TempFolder();
        var pixels = PixelsFile(folder);
        File.WriteAllText(folder.File("taken"), "a file, not a folder");
        var page = Path.Combine(folder.File("taken"), "captions.html");
        var result = CliRunner.Run(Caption("--pixels", pixels, "--json", "--html", page));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(page, result.Error);
        Assert.Contains("cannot write the caption page", result.Error);
        Assert.Equal("", result.Output);
        Assert.Equal(new[] { pixels, folder.File("taken") }.Order(), Directory.GetFiles(folder.Path).Order());
    }

    [Fact]
    public void Sampled_captions_repeat_for_a_seed()
    {
        using var folder = new TestPaths.TempFolder();
        var pixels = PixelsFile(folder);
        string[] sample = ["--pixels", pixels, "--generation", "top-p", "--top-p", "0.9", "--temperature", "1.2", "--seed", "5", "--max-length", "10", "--json"];
        var first = CliRunner.Run(Caption(sample));
        var again = CliRunner.Run(Caption(sample));
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(first.Output, again.Output);
    }

    public static TheoryData<string, string[], string> BadInputs => new()
    {
        { "max length 0", ["--max-length", "0"], "maximum caption length 0" },
        { "no beams", ["--generation", "beam", "--beams", "0"], "beam count 0" },
        { "top-p 0", ["--generation", "top-p", "--top-p", "0"], "top-p 0 is outside (0, 1]" },
        { "top-p above 1", ["--generation", "top-p", "--top-p", "1.5"], "top-p 1.5 is outside (0, 1]" },
        { "an empty page name", ["--html", " "], "--html: the file name is empty" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void A_bad_option_is_refused_naming_it(string what, string[] options, string message)
    {
        using var folder = new TestPaths.TempFolder();
        var result = CliRunner.Run(Caption(["--pixels", PixelsFile(folder), .. options]));
        Assert.True(result.ExitCode == 1, $"{what}: exit {result.ExitCode}, {result.Error}");
        Assert.Contains(message, result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void A_config_that_does_not_match_the_weights_is_refused_naming_it()
    {
        using var folder = new TestPaths.TempFolder();
        var config = folder.File("wrong.json");
        File.WriteAllText(config, File.ReadAllText(Config).Replace("\"layers\": 2", "\"layers\": 3"));
        var result = CliRunner.Run("caption", "--model", Weights, "--config", config, "--pixels", PixelsFile(folder));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(config, result.Error);
        Assert.Contains("does not match the weights", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void An_image_that_does_not_decode_is_refused_naming_it_and_nothing_is_printed()
    {
        using var folder = new TestPaths.TempFolder();
        var good = PngFiles(folder)[0];
        var broken = folder.File("broken.png");
        File.WriteAllText(broken, "not a picture");
        var result = CliRunner.Run(Caption("--image", good, broken));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(broken, result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Pixels_of_another_size_than_the_model_takes_are_refused_naming_the_file()
    {
        using var folder = new TestPaths.TempFolder();
        var pixels = folder.File("small.safetensors");
        SafetensorsFile.Write(pixels, [new("pixel_values", zeros(1, 3, 16, 16))]);
        var result = CliRunner.Run(Caption("--pixels", pixels));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(pixels, result.Error);
        Assert.Contains("the pixel values are [1, 3, 16, 16]; the model takes [N, 3, 32, 32]", result.Error);
        Assert.Equal("", result.Output);
    }
}
