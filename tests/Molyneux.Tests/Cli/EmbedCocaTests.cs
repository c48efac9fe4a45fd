using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Tests.Captioning;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary><c>molyneux embed</c> on the golden tiny CoCa (recognised by its config's <c>multimodal_cfg</c>): the
/// stored unnormalized image features of the golden pixels and text features of the golden captions, within 1e-4, and
/// for image files what <see cref="CocaModel.GetImageFeatures"/> gives on the captioner's preprocessing.</summary>
public sealed class EmbedCocaTests
{
    private const double Tolerance = 1e-4;

    private static string[] Embed(params string[] extra) =>
        ["embed", "--model", CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", CocaGoldenTests.GoldenCoca("coca_tiny.json"), "--device", "cpu", "--json", .. extra];

    private static float[][] Embeddings(JsonElement root, string kind) =>
        [.. root.GetProperty(kind).EnumerateArray().Select(entry => entry.GetProperty("embedding").EnumerateArray().Select(value => value.GetSingle()).ToArray())];

    private static void AssertClose(Tensor expected, float[][] actual, string what)
    {
        Assert.Equal(expected.shape[0], actual.Length);
        using var computed = tensor(actual.SelectMany(row => row).ToArray(), expected.shape);
        var difference = computed.sub(expected).abs().max().item<float>();
        Assert.True(difference <= Tolerance, $"{what}: largest difference {difference}");
    }

    [Fact]
    public void Pixels_and_texts_give_the_stored_unnormalized_features()
    {
        using var folder = new TestPaths.TempFolder();
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        var captions = JsonSerializer.Deserialize<string[]>(golden.Metadata["captions"])!;
        var result = CliRunner.Run(Embed(["--pixels", CaptionCommandTests.PixelsFile(folder), "--text", .. captions]));
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Output);
        using var scope = NewDisposeScope();
        AssertClose(golden.Read("image_features"), Embeddings(document.RootElement, "images"), "image_features");
        AssertClose(golden.Read("text_features"), Embeddings(document.RootElement, "texts"), "text_features");
        Assert.Equal(captions, document.RootElement.GetProperty("texts").EnumerateArray().Select(entry => entry.GetProperty("text").GetString()));
    }

    [Fact]
    public void Image_files_give_the_model_s_features_of_their_preprocessed_pixels()
    {
        using var folder = new TestPaths.TempFolder();
        var files = CaptionCommandTests.PngFiles(folder);
        var result = CliRunner.Run(Embed(["--image", .. files]));
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Output);
        using var coca = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var expected = coca.GetImageFeatures(ClipImageProcessor.Default(coca.Config.Vision.ImageSize).PreprocessFiles(files));
        AssertClose(expected, Embeddings(document.RootElement, "images"), "image files");
    }

    [Fact]
    public void Plain_output_is_a_table_row_per_input()
    {
        var result = CliRunner.Run(["embed", "--model", CocaGoldenTests.GoldenCoca("model.safetensors.gz"), "--config", CocaGoldenTests.GoldenCoca("coca_tiny.json"), "--text", "a cat", "a dog"]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("text: a cat", result.Output);
        Assert.Contains("text: a dog", result.Output);
    }
}
