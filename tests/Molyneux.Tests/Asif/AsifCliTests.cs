using System.Text.Json;
using Molyneux.Asif;
using Molyneux.Evaluation;
using Molyneux.Tests.Cli;
using Molyneux.Tests.Evaluation;

namespace Molyneux.Tests.Asif;

/// <summary><c>molyneux asif build|classify|explain|add|remove</c> through the real CLI, with a random HF ViT and a
/// random HF BERT written to disk: the numbers are meaningless, so the tests compare the commands' results with the
/// library computing the same thing.</summary>
public sealed class AsifCliTests
{
    private static (string Image, string Text) WriteEncoders(TestPaths.TempFolder folder)
    {
        AsifViTEncoderTests.SaveRandom(folder.File("vit"), AsifViTEncoderTests.Tiny);
        AsifBertEncoderTests.SaveRandom(folder.File("bert"), AsifBertEncoderTests.Tiny);
        return (folder.File("vit"), folder.File("bert"));
    }

    private static string WriteAnchors(TestPaths.TempFolder folder, string name, params string[] colours)
    {
        var lines = colours.Select((colour, i) =>
        {
            var (r, g, b) = colour switch { "red" => ((byte)220, (byte)30, (byte)30), "blue" => ((byte)30, (byte)30, (byte)220), _ => ((byte)30, (byte)200, (byte)40) };
            MeanColourImageEncoder.WritePng(folder.File($"anchors/{colour}{i}.png"), r, g, b);
            return JsonSerializer.Serialize(new { image = $"{colour}{i}.png", captions = new[] { $"a {colour} square", colour } });
        }).ToList();
        var path = folder.File($"anchors/{name}");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [InlineData(new string[0], true)]                                  // the built-in ResNet18 and MiniLM, centred
    [InlineData(new[] { "--centre", "false" }, false)]
    [InlineData(new[] { "--image-encoder", "vit" }, false)]             // other encoders: not centred unless asked
    [InlineData(new[] { "--image-encoder", "vit", "--centre" }, true)]
    public void The_default_encoders_are_the_built_in_ones_and_centring_follows_the_image_encoder(string[] options, bool centred)
    {
        using var folder = new TestPaths.TempFolder();
        WriteEncoders(folder);
        var anchors = WriteAnchors(folder, "anchors.jsonl", "red", "blue");
        var index = folder.File("index");
        var given = options.Select(option => option == "vit" ? folder.File("vit") : option).ToArray();
        var built = CliRunner.Run(["asif", "build", "--anchors", anchors, "--out", index, .. given]);

        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(centred, built.Output.Contains(", centred"));
        using var recorded = JsonDocument.Parse(File.ReadAllText(Path.Combine(index, "index.json")));
        Assert.Contains(given.Contains("--image-encoder") ? folder.File("vit") : UnimodalEncoders.ResNet18ImageNetName, recorded.RootElement.ToString());
        Assert.Contains(UnimodalEncoders.MiniLmName, recorded.RootElement.ToString());
    }

    [Fact]
    public void Build_classify_explain_add_and_remove_agree_with_the_library()
    {
        using var folder = new TestPaths.TempFolder();
        var (image, text) = WriteEncoders(folder);
        var anchors = WriteAnchors(folder, "anchors.jsonl", "red", "blue", "green");
        var index = folder.File("index");
        var built = CliRunner.Run("asif", "build", "--image-encoder", image, "--text-encoder", text, "--anchors", anchors, "--out", index, "--storage", "fp16");
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Contains("6 anchors (3 images)", built.Output);

        var data = folder.File("data");
        foreach (var (colour, r, g, b) in new[] { ("red", 200, 40, 40), ("blue", 40, 40, 200) })
            for (var i = 0; i < 2; i++)
                MeanColourImageEncoder.WritePng(Path.Combine(data, colour, $"{i}.png"), (byte)(r - 20 * i), (byte)g, (byte)(b + 10 * i));
        var reportPath = folder.File("report.json");
        var classified = CliRunner.Run("asif", "classify", "--index", index, "--data", data, "--templates", "name", "-k", "4", "-p", "2",
            "--unknown-threshold", "0.1", "--json", reportPath, "--no-cache");
        Assert.True(classified.ExitCode == 0, classified.Error);

        using var asif = AsifIndex.Open(index);
        using var imageEncoder = ViTImageEncoder.Load(image);
        using var textEncoder = BertTextEncoder.Load(text);
        var expected = AsifEvaluation.EvaluateClassification(asif, index, imageEncoder, textEncoder, ImageFolderDataset.Load(data),
            new ClassificationOptions { Templates = PromptTemplates.Load("name"), Cache = null }, new AsifOptions { NonZeros = 4, Exponent = 2 },
            new UnknownThresholdOptions { Threshold = 0.1 });
        var report = (ClassificationReport)EvaluationReport.Load(reportPath);
        Assert.Equal(expected.Metrics, report.Metrics);
        Assert.Equal(expected.Asif, report.Asif);
        Assert.Equal("fp16", report.Asif!.Storage);
        Assert.Equal(Path.GetFullPath(index), report.Model.Path);

        var explained = CliRunner.Run("asif", "explain", "--index", index, "--image", Path.Combine(data, "red", "0.png"), "--classes", "red,blue",
            "--templates", "name", "-k", "4", "-p", "2");
        Assert.True(explained.ExitCode == 0, explained.Error);
        var classifier = AsifClassifier.Build(asif, textEncoder, ["red", "blue"], [["red"], ["blue"]], new AsifOptions { NonZeros = 4, Exponent = 2 });
        using var embedding = imageEncoder.EncodeImages([Path.Combine(data, "red", "0.png")]);
        var explanation = classifier.Explain(classifier.RepresentImages(embedding), 0);
        Assert.Contains($"{explanation.ClassName} (prompt \"{explanation.Prompt}\")", explained.Output);

        var added = CliRunner.Run("asif", "add", "--index", index, "--anchors", WriteAnchors(folder, "more.jsonl", "red", "green", "green"));
        Assert.True(added.ExitCode == 0, added.Error);
        Assert.Contains("added 2 anchors (4 already there); 8 in all", added.Output);
        var removed = CliRunner.Run("asif", "remove", "--index", index, "--image", folder.File("anchors/green2.png"), "--anchors", anchors);
        Assert.True(removed.ExitCode == 0, removed.Error);
        Assert.Contains("removed 6 anchors; 2 left", removed.Output);
    }

    [Fact]
    public void An_index_refuses_encoders_it_was_not_built_with_and_bad_options_are_one_line_errors()
    {
        using var folder = new TestPaths.TempFolder();
        var (image, text) = WriteEncoders(folder);
        var index = folder.File("index");
        Assert.Equal(0, CliRunner.Run("asif", "build", "--image-encoder", image, "--text-encoder", text, "--anchors", WriteAnchors(folder, "a.jsonl", "red", "blue"), "--out", index).ExitCode);
        AsifViTEncoderTests.SaveRandom(folder.File("other-vit"), AsifViTEncoderTests.Tiny, seed: 9);
        var data = folder.File("data");
        MeanColourImageEncoder.WritePng(Path.Combine(data, "red", "0.png"), 200, 30, 30);
        var wrong = CliRunner.Run("asif", "classify", "--index", index, "--data", data, "--image-encoder", folder.File("other-vit"), "--no-cache");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("not the one the index was built with", wrong.Error);
        var badP = CliRunner.Run("asif", "classify", "--index", index, "--data", data, "-p", "1.5", "--no-cache");
        Assert.Equal(1, badP.ExitCode);
        Assert.Contains("-p", badP.Error);
        var missing = CliRunner.Run("asif", "classify", "--index", folder.File("nothing"), "--data", data);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("not an ASIF index", missing.Error);
    }
}
