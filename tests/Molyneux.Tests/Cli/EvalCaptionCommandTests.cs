using System.Globalization;
using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Tests.Captioning;

namespace Molyneux.Tests.Cli;

/// <summary><c>molyneux eval caption</c> on the golden tiny CoCa with a captions file over the golden images: the
/// printed metrics are <see cref="CaptionMetrics.Compute"/>'s on the printed captions, the JSON has the documented shape
/// and goes atomically to --report DIR, one image is warned about, and bad captions files are refused naming the file
/// and line, with exit code 1 and nothing printed or written.</summary>
public sealed class EvalCaptionCommandTests
{
    private static string[] EvalCaption(string captions, params string[] extra) =>
    [
        "eval", "caption", "--model", CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", CocaGoldenTests.GoldenCoca("coca_tiny.json"),
        "--device", "cpu", "--max-length", "8", "--captions", captions, .. extra,
    ];

    [Fact]
    public void Json_holds_the_metrics_of_the_generated_captions_and_the_report_folder_the_same()
    {
        using var folder = new TestPaths.TempFolder();
        var captions = CaptionEvaluationTests.CaptionsFile(folder);
        var reportFolder = folder.File("report");
        var result = CliRunner.Run(EvalCaption(captions, "--json", "--report", reportFolder));
        Assert.True(result.ExitCode == 0, result.Error);

        using var document = JsonDocument.Parse(result.Output);
        var entries = document.RootElement.GetProperty("captions").EnumerateArray().ToArray();
        Assert.Equal(3, entries.Length);
        var corpus = new List<GeneratedCaption>();
        for (var i = 0; i < entries.Length; i++)
        {
            Assert.Equal($"images/image{i}.png", entries[i].GetProperty("image").GetString()!.Replace('\\', '/'));
            var references = entries[i].GetProperty("references").EnumerateArray().Select(reference => reference.GetString()!).ToArray();
            Assert.Equal(CaptionEvaluationTests.References[i], references);
            corpus.Add(new GeneratedCaption(entries[i].GetProperty("generated").GetString()!, references));
        }
        var expected = CaptionMetrics.Compute(corpus);
        var metrics = document.RootElement.GetProperty("metrics");
        Assert.Equal(["bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider_d", "clip_score"], metrics.EnumerateObject().Select(property => property.Name));
        for (var n = 1; n <= 4; n++)
            Assert.Equal(expected.Bleu.Corpus[n - 1], metrics.GetProperty($"bleu_{n}").GetDouble());
        Assert.Equal(expected.CiderD.Corpus, metrics.GetProperty("cider_d").GetDouble());
        Assert.Equal(JsonValueKind.Null, metrics.GetProperty("clip_score").ValueKind);

        Assert.Equal(result.Output.Trim(), File.ReadAllText(Path.Combine(reportFolder, CaptionEvaluationReport.FileName)));
        Assert.Equal([CaptionEvaluationReport.FileName], Directory.GetFiles(reportFolder).Select(Path.GetFileName));
    }

    [Fact]
    public void Html_shows_each_image_beside_its_generated_caption_and_its_references()
    {
        using var folder = new TestPaths.TempFolder();
        var captions = CaptionEvaluationTests.CaptionsFile(folder);
        var page = folder.File("captions.html");
        var result = CliRunner.Run(EvalCaption(captions, "--json", "--html", page));
        Assert.True(result.ExitCode == 0, result.Error);

        using var document = JsonDocument.Parse(result.Output);
        var entries = document.RootElement.GetProperty("captions").EnumerateArray().ToArray();
        var html = File.ReadAllText(page);
        var rows = CaptionPageTests.Rows(html);
        Assert.Equal(entries.Select(entry => entry.GetProperty("generated").GetString()), rows.Select(row => row.Caption));
        Assert.Equal(CaptionEvaluationTests.References, rows.Select(row => row.References.ToArray()));
        Assert.Equal(entries.Select(entry => entry.GetProperty("image").GetString()), rows.Select(row => row.Source));
        var ciderD = document.RootElement.GetProperty("metrics").GetProperty("cider_d").GetDouble();
        Assert.Contains($"; CIDEr-D {ciderD.ToString("F2", CultureInfo.InvariantCulture)}, BLEU-4 ", html);
        Assert.All(rows, row => Assert.Equal((128, 128), (row.ShownWidth, row.ShownHeight)));
    }

    [Fact]
    public void The_table_prints_the_metrics_of_the_captions_json_gives()
    {
        using var folder = new TestPaths.TempFolder();
        var captions = CaptionEvaluationTests.CaptionsFile(folder);
        var json = CliRunner.Run(EvalCaption(captions, "--json"));
        var table = CliRunner.Run(EvalCaption(captions, "--clip-model", TestPaths.GoldenClip("model_a/hf")));
        Assert.True(table.ExitCode == 0, table.Error);
        using var document = JsonDocument.Parse(json.Output);
        foreach (var (row, key) in new[] { ("BLEU-1", "bleu_1"), ("BLEU-2", "bleu_2"), ("BLEU-3", "bleu_3"), ("BLEU-4", "bleu_4"), ("CIDEr-D", "cider_d") })
        {
            var value = document.RootElement.GetProperty("metrics").GetProperty(key).GetDouble();
            Assert.Matches($@"{row}\s*│\s*{value.ToString("F4", CultureInfo.InvariantCulture)}", table.Output);
        }
        Assert.Matches(@"CLIP-score\s*│\s*\d+\.\d{4}", table.Output);
        Assert.Contains("3 images, 6 reference captions", table.Output);
        // No warning: stderr holds only the progress lines (not a terminal), ending at all three images.
        Assert.All(table.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("step ", line));
        Assert.Contains("step 3/3 (100%)", table.Error);
    }

    [Fact]
    public void A_single_image_is_warned_about()
    {
        using var folder = new TestPaths.TempFolder();
        var result = CliRunner.Run(EvalCaption(CaptionEvaluationTests.CaptionsFile(folder, images: 1)));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("warning:", result.Error);
        Assert.Contains("single image", result.Error);
        Assert.Contains("CIDEr-D", result.Error);
    }

    public static TheoryData<string, string, string> BadFiles => new()
    {
        { "empty", "", "no entries" },
        { "not JSON", "{\"image\": \"images/image0.png\", \"captions\": [\"a\"]}\nthis is not json", "line 2: malformed JSON" },
        { "missing image", "{\"image\": \"images/absent.png\", \"captions\": [\"a\"]}", "line 1: image file not found" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_captions_file_is_refused_naming_it_and_nothing_is_printed_or_written(string what, string content, string message)
    {
        using var folder = new TestPaths.TempFolder();
        CaptionCommandTests.PngFiles(folder);
        var captions = folder.File("captions.jsonl");
        File.WriteAllText(captions, content);
        var reportFolder = folder.File("report");
        var result = CliRunner.Run(EvalCaption(captions, "--json", "--report", reportFolder));
        Assert.True(result.ExitCode == 1, $"{what}: exit {result.ExitCode}, {result.Error}");
        Assert.Contains(captions, result.Error);
        Assert.Contains(message, result.Error);
        Assert.Equal("", result.Output);
        Assert.False(Directory.Exists(reportFolder));
    }
}
