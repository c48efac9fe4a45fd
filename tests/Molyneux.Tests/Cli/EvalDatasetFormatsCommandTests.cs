using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Tests.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary><c>eval classify</c> on a CLIP_benchmark webdataset folder (two shards, its own templates file) with the
/// golden model A; the expected accuracy is computed from the model's embeddings of the same images and prompts.</summary>
public sealed class EvalDatasetFormatsCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    private static readonly (string Name, float[] Rgb)[] Colors = [("red", [1f, 0f, 0f]), ("green", [0f, 0.8f, 0f]), ("blue", [0f, 0f, 1f])];

    [Fact]
    public void Classify_reads_a_clip_benchmark_webdataset_with_its_templates()
    {
        using var folder = new TestPaths.TempFolder();
        var root = folder.File("wds_colors");
        DatasetFixtures.Write(Path.Combine(root, "classnames.txt"), string.Join("\n", Colors.Select(c => c.Name)) + "\n");
        DatasetFixtures.Write(Path.Combine(root, "zeroshot_classification_templates.txt"), "a photo of a {c} square.\n");
        // Sample i has class i % 3 and a darker shade for larger i; shard 0 holds samples 0-3, shard 1 samples 4-5.
        var pngs = new List<string>();
        var members = new List<(string, byte[])>[] { [], [] };
        for (var i = 0; i < 6; i++)
        {
            var png = folder.File($"png/{i}.png");
            using (var image = ones(3, 32, 32) * tensor(Colors[i % 3].Rgb).view(3, 1, 1) * (1f - 0.1f * i))
                ImageDecoder.SavePng(png, image);
            pngs.Add(png);
            members[i < 4 ? 0 : 1].AddRange([($"s{i:D3}.png", File.ReadAllBytes(png)), ($"s{i:D3}.cls", DatasetFixtures.Text($"{i % 3}"))]);
        }
        DatasetFixtures.WriteTar(Path.Combine(root, "test", "0.tar"), [.. members[0]]);
        DatasetFixtures.WriteTar(Path.Combine(root, "test", "1.tar"), [.. members[1]]);
        var reportPath = folder.File("report.json");

        var result = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--split", "test",
            "--shard-cache", folder.File("shards"), "--json", reportPath, "--no-cache");
        Assert.True(result.ExitCode == 0, result.Error);

        using var clip = ClipCheckpoint.Load(ModelA);
        using var imageFeatures = nn.functional.normalize(clip.EncodeImages([.. pngs]), dim: -1);
        using var textFeatures = nn.functional.normalize(clip.EncodeTexts(Colors.Select(c => $"a photo of a {c.Name} square.").ToArray()), dim: -1);
        var predictions = imageFeatures.matmul(textFeatures.t()).argmax(-1).data<long>().ToArray();
        var expectedTop1 = predictions.Select((p, i) => p == i % 3 ? 1.0 : 0.0).Average();

        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        Assert.Equal(6, report.RootElement.GetProperty("dataset").GetProperty("num_images").GetInt32());
        // The dataset's one template, not the 80 of the default openai_imagenet set.
        Assert.Equal(1, report.RootElement.GetProperty("options").GetProperty("num_templates").GetInt32());
        Assert.Equal(["red", "green", "blue"], report.RootElement.GetProperty("per_class").EnumerateArray().Select(row => row.GetProperty("class_name").GetString()));
        Assert.Equal(expectedTop1, report.RootElement.GetProperty("metrics").GetProperty("top1").GetDouble(), 6);
        Assert.Equal(2, Directory.GetDirectories(folder.File("shards")).Length);

        var missingSplit = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--split", "train", "--shard-cache", folder.File("shards"), "--no-cache");
        Assert.Equal(1, missingSplit.ExitCode);
        Assert.Contains("no split folder 'train' (splits: test)", missingSplit.Error);
    }
}
