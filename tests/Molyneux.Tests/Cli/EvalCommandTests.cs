using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary><c>eval classify</c> and <c>eval retrieve</c> through the real CLI, on datasets written to disk, with the
/// golden model A, whose answers the test computes beforehand from the model's own embeddings.</summary>
public sealed class EvalCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    /// <summary>In class-index order: ImageFolder sorts class folders by name.</summary>
    private static readonly (string Folder, float[] Rgb)[] Colors =
    [
        ("blue", [0f, 0f, 1f]), ("green", [0f, 0.8f, 0f]), ("red", [1f, 0f, 0f]),
    ];

    private static void WriteImage(string path, float[] rgb, int variant) =>
        ImageDecoder.SavePng(path, ones(3, 32, 32) * tensor(rgb).view(3, 1, 1) * (1f - 0.2f * variant) + 0.1f * variant * rand(3, 32, 32, generator: new Generator((ulong)variant + 7)));

    private static string WriteImageFolder(TestPaths.TempFolder folder)
    {
        var root = folder.File("colors");
        foreach (var (name, rgb) in Colors)
            for (var i = 0; i < 3; i++)
                WriteImage(Path.Combine(root, name + "_things", $"{i}.png"), rgb, i);
        File.WriteAllText(Path.Combine(root, "classes.json"), """{"red_things": "red"}""");
        return root;
    }

    [Fact]
    public void Classify_writes_a_report_whose_numbers_match_a_direct_computation()
    {
        using var folder = new TestPaths.TempFolder();
        var root = WriteImageFolder(folder);
        var reportPath = folder.File("report.json");
        var result = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--templates", "a_photo",
            "--json", reportPath, "--cache", folder.File("cache"));
        Assert.True(result.ExitCode == 0, result.Error);

        // Expected: each image's nearest class prompt by cosine, from the model directly.
        string[] classNames = ["blue things", "green things", "red"];
        var images = Colors.SelectMany(c => Enumerable.Range(0, 3).Select(i => Path.Combine(root, c.Folder + "_things", $"{i}.png"))).ToArray();
        using var clip = ClipCheckpoint.Load(ModelA);
        using var imageFeatures = nn.functional.normalize(clip.EncodeImages(images), dim: -1);
        using var textFeatures = nn.functional.normalize(clip.EncodeTexts(classNames.Select(c => $"a photo of a {c}.").ToArray()), dim: -1);
        var predictions = imageFeatures.matmul(textFeatures.t()).argmax(-1).data<long>().ToArray();
        var expectedTop1 = predictions.Select((p, i) => p == i / 3 ? 1.0 : 0.0).Average();

        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        var root2 = report.RootElement;
        Assert.Equal("classification", root2.GetProperty("kind").GetString());
        Assert.Equal(ModelA, root2.GetProperty("model").GetProperty("path").GetString());
        Assert.Equal(clip.Identity, root2.GetProperty("model").GetProperty("image_identity").GetString());
        Assert.Equal(9, root2.GetProperty("dataset").GetProperty("num_images").GetInt32());
        Assert.Equal(3, root2.GetProperty("dataset").GetProperty("num_classes").GetInt32());
        Assert.Equal(expectedTop1, root2.GetProperty("metrics").GetProperty("top1").GetDouble(), 6);
        Assert.Equal(1.0, root2.GetProperty("metrics").GetProperty("top5").GetDouble());
        var perClass = root2.GetProperty("per_class").EnumerateArray().ToArray();
        Assert.Equal(classNames, perClass.Select(row => row.GetProperty("class_name").GetString()));
        for (var c = 0; c < 3; c++)
            Assert.Equal(predictions.Skip(3 * c).Take(3).Count(p => p == c), perClass[c].GetProperty("correct").GetInt32());
        Assert.Contains("top-1", result.Output);
    }

    [Fact]
    public void Retrieve_reports_recall_matching_a_direct_computation()
    {
        using var folder = new TestPaths.TempFolder();
        var lines = new List<string>();
        for (var i = 0; i < Colors.Length; i++)
        {
            WriteImage(folder.File($"img/{Colors[i].Folder}.png"), Colors[i].Rgb, 0);
            lines.Add(JsonSerializer.Serialize(new { image = $"img/{Colors[i].Folder}.png", captions = new[] { $"a {Colors[i].Folder} square", $"something {Colors[i].Folder}" } }));
        }
        File.WriteAllLines(folder.File("captions.jsonl"), lines);
        var reportPath = folder.File("retrieval.json");
        var result = CliRunner.Run("eval", "retrieve", "--model", ModelA, "--captions", folder.File("captions.jsonl"), "--json", reportPath, "--no-cache");
        Assert.True(result.ExitCode == 0, result.Error);

        using var clip = ClipCheckpoint.Load(ModelA);
        using var images = nn.functional.normalize(clip.EncodeImages(Colors.Select(c => folder.File($"img/{c.Folder}.png")).ToArray()), dim: -1);
        var captions = Colors.SelectMany(c => new[] { $"a {c.Folder} square", $"something {c.Folder}" }).ToArray();
        using var texts = nn.functional.normalize(clip.EncodeTexts(captions), dim: -1);
        var bestImage = texts.matmul(images.t()).argmax(-1).data<long>().ToArray();
        var textToImageR1 = bestImage.Select((image, caption) => image == caption / 2 ? 1.0 : 0.0).Average();

        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        var metrics = report.RootElement.GetProperty("metrics");
        Assert.Equal(textToImageR1, metrics.GetProperty("text_to_image_r1").GetDouble(), 6);
        Assert.Equal(1.0, metrics.GetProperty("text_to_image_r5").GetDouble());
        Assert.Equal(1.0, metrics.GetProperty("image_to_text_r10").GetDouble());
        Assert.Equal(6, report.RootElement.GetProperty("dataset").GetProperty("num_captions").GetInt32());
    }

    [Theory]
    [InlineData("missing-folder", "dataset folder not found")]
    [InlineData("empty-class", "has no images")]
    [InlineData("unreadable-image", "broken.png")]
    public void Classify_bad_input_names_the_problem_and_writes_no_report(string problem, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        var root = WriteImageFolder(folder);
        switch (problem)
        {
            case "missing-folder": root = folder.File("nothing-here"); break;
            case "empty-class": Directory.CreateDirectory(Path.Combine(root, "empty_class")); break;
            case "unreadable-image": File.WriteAllText(Path.Combine(root, "red_things", "broken.png"), "not a png"); break;
        }
        var reportPath = folder.File("report.json");
        var result = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--templates", "a_photo", "--json", reportPath, "--no-cache");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(expected, result.Error);
        Assert.False(File.Exists(reportPath));
    }

    [Theory]
    [InlineData("""{"image": "../outside.png", "captions": ["x"]}""", "line 2")]
    [InlineData("""{"image": "img/red.png", "captions": [""", "line 2")]
    public void Retrieve_bad_captions_lines_are_named_and_no_report_is_written(string badLine, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        WriteImage(folder.File("img/red.png"), [1f, 0f, 0f], 0);
        File.WriteAllLines(folder.File("captions.jsonl"), ["""{"image": "img/red.png", "captions": ["a red square"]}""", badLine]);
        var reportPath = folder.File("retrieval.json");
        var result = CliRunner.Run("eval", "retrieve", "--model", ModelA, "--captions", folder.File("captions.jsonl"), "--json", reportPath, "--no-cache");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("captions.jsonl", result.Error);
        Assert.Contains(expected, result.Error);
        Assert.False(File.Exists(reportPath));
    }
}
