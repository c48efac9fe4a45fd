using System.Text.Json.Nodes;
using Molyneux.Modeling;

namespace Molyneux.Onnx;

/// <summary>The shape of a torchvision ResNet built of BasicBlocks (torchvision's ResNet18 has [2, 2, 2, 2] blocks per
/// stage, ResNet34 [3, 4, 6, 3]; ML.NET's CNTK "ResNet18" has [2, 2, 2, 3]): a 64-wide stem, four stages of widths 64,
/// 128, 256 and 512, the last three starting with a stride-2 block. Only the pooled features are modelled; an ImageNet
/// classifier (fc) is not part of the tower. <see cref="ImageSize"/> is the side its image processor gives (a ResNet
/// pools over any size); HF's ResNetConfig has no such field, the dual encoder's <c>vision_config</c> records it.</summary>
public sealed record ResNetConfig(IReadOnlyList<int> Layers, double BatchNormEps = 1e-5, int ImageSize = 224) : IImageTowerConfig
{
    public const string ModelType = "resnet";

    string IImageTowerConfig.ModelType => ModelType;

    public const int StemWidth = 64;

    /// <summary>The width of stage <paramref name="stage"/> (0 to 3).</summary>
    public static int StageWidth(int stage) => StemWidth << stage;

    /// <summary>The width of the pooled features: the last stage's.</summary>
    public int FeatureWidth => StageWidth(Layers.Count - 1);

    /// <summary>Each stage but the first halves the feature map, after the stem's /4: a side of 224 ends at 7.</summary>
    public const int Downsampling = 32;

    /// <summary>Throws <see cref="CheckpointException"/> naming <paramref name="source"/> when the shape is not a ResNet's.</summary>
    public void Validate(string source)
    {
        if (Layers.Count != 4 || Layers.Any(count => count < 1))
            throw new CheckpointException($"{source}: a ResNet has four stages of at least one block, found [{string.Join(", ", Layers)}]");
        if (!(BatchNormEps > 0))
            throw new CheckpointException($"{source}: BatchNorm ε must be positive, found {BatchNormEps}");
        if (ImageSize <= 0 || ImageSize % Downsampling != 0)
            throw new ConfigException($"{source}: vision_config.image_size must be a positive multiple of {Downsampling}, got {ImageSize}");
    }

    /// <summary>HF ResNetConfig's fields for a ResNet of basic blocks, and <c>image_size</c>.</summary>
    public JsonObject ToHuggingFaceJson() => new()
    {
        ["model_type"] = ModelType,
        ["layer_type"] = "basic",
        ["embedding_size"] = StemWidth,
        ["hidden_sizes"] = new JsonArray(Enumerable.Range(0, Layers.Count).Select(stage => (JsonNode)StageWidth(stage)).ToArray()),
        ["depths"] = new JsonArray(Layers.Select(count => (JsonNode)count).ToArray()),
        ["hidden_act"] = "relu",
        ["downsample_in_first_stage"] = false,
        ["num_channels"] = 3,
        ["batch_norm_eps"] = BatchNormEps,
        ["image_size"] = ImageSize,
    };

    /// <summary>Reads a <c>vision_config</c> of model_type <c>resnet</c>; only basic blocks are modelled.</summary>
    public static ResNetConfig FromHuggingFaceJson(JsonObject vision, string source)
    {
        if ((vision["layer_type"]?.GetValue<string>() ?? "basic") != "basic")
            throw new ConfigException($"{source}: a ResNet of '{vision["layer_type"]}' blocks; Molyneux's ResNet has basic blocks (layer_type 'basic')");
        var depths = vision["depths"] as JsonArray ?? throw new ConfigException($"{source}: no \"depths\" array");
        return new ResNetConfig(depths.Select(depth => depth!.GetValue<int>()).ToList(), vision["batch_norm_eps"]?.GetValue<double>() ?? 1e-5,
            vision["image_size"]?.GetValue<int>() ?? 224);
    }

    public IImageTower CreateTower() => new ResNetModel(this);
}
