using System.Text.Json;
using Molyneux.Onnx;

namespace Molyneux.Tests.Cli;

/// <summary><c>molyneux embed --model minilm | resnet18-imagenet</c>: the built-in encoders' pooled features, the same
/// numbers as the library's, and a clear refusal of the modality an encoder does not read.</summary>
public class EmbedBuiltInEncoderTests
{
    private static float[][] Embeddings(string output, string kind) =>
        JsonDocument.Parse(output).RootElement.GetProperty(kind).EnumerateArray()
            .Select(entry => entry.GetProperty("embedding").EnumerateArray().Select(value => value.GetSingle()).ToArray()).ToArray();

    [Fact]
    public void MiniLm_prints_the_libraries_384_mean_pooled_values_per_text()
    {
        var result = CliRunner.Run("embed", "--model", "minilm", "--text", "a pink bird with long legs", "a red circle", "--json");

        Assert.Equal(0, result.ExitCode);
        var printed = Embeddings(result.Output, "texts");
        var encoder = MiniLm.Load();
        using var expected = encoder.EncodeTexts(["a pink bird with long legs", "a red circle"]);
        Assert.Equal(2, printed.Length);
        Assert.All(printed, row => Assert.Equal(384, row.Length));
        Assert.Equal(expected[1].data<float>().ToArray(), printed[1]);
    }

    [Fact]
    public void ResNet18_prints_512_pooled_values_per_image()
    {
        var image = Path.Combine(TestPaths.RepositoryRoot, "docs/examples/red_circle.png");

        var result = CliRunner.Run("embed", "--model", "resnet18-imagenet", "--image", image, "--json");

        Assert.Equal(0, result.ExitCode);
        var printed = Embeddings(result.Output, "images").Single();
        Assert.Equal(512, printed.Length);
        Assert.All(printed, value => Assert.True(value >= 0));   // post-ReLU features
        Assert.Contains(printed, value => value > 0);
    }

    [Theory]
    [InlineData("minilm", "--image", "is a text encoder")]
    [InlineData("resnet18-imagenet", "--text", "is an image encoder")]
    public void The_other_modality_is_refused(string model, string option, string message)
    {
        var input = option == "--image" ? Path.Combine(TestPaths.RepositoryRoot, "docs/examples/red_circle.png") : "a red circle";

        var result = CliRunner.Run("embed", "--model", model, option, input);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.Error);
    }
}
