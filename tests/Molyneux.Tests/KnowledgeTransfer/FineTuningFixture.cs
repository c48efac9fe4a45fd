using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>The golden random CLIP model_a, small random image–caption sets for it, and parameter snapshots.</summary>
internal static class FineTuningFixture
{
    public static readonly string[] ImageTower = ["vision_model.", "visual_projection."];
    public static readonly string[] TextTower = ["text_model.", "text_projection."];

    public static readonly string[] Captions =
    [
        "A moongate is a circular opening in a garden wall.",
        "a red circle on a white background",
        "two blue squares side by side",
        "green stripes across a dark field",
    ];

    public static readonly string[] Negatives = ["a photo of a cat.", "a photo of a dog.", "a photo of a car."];

    public static ClipPipeline LoadModelA() => ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

    /// <summary>[count, 3, 32, 32] uniform in [0, 1).</summary>
    public static Tensor RandomImages(int count, ulong seed = 1) => rand([count, 3, 32, 32], generator: new Generator(seed));

    public static FineTuneData Data(int count = 4) => new(RandomImages(count), Captions[..count], Negatives);

    public static Dictionary<string, Tensor> Snapshot(ClipModel model) =>
        model.named_parameters().ToDictionary(entry => entry.name, entry => entry.parameter.detach().clone());

    /// <summary>The names of the parameters (under the given prefixes) whose values differ from the snapshot.</summary>
    public static List<string> Changed(Dictionary<string, Tensor> before, ClipModel model, params string[] prefixes) =>
        model.named_parameters()
            .Where(entry => prefixes.Length == 0 || prefixes.Any(prefix => entry.name.StartsWith(prefix, StringComparison.Ordinal)))
            .Where(entry => !TensorAssert.Identical(before[entry.name], entry.parameter.detach()))
            .Select(entry => entry.name).ToList();

    public static Tensor ImageFeatures(ClipPipeline clip, Tensor images) => clip.EncodePixels(clip.ImageProcessor.Normalize(images));
}
