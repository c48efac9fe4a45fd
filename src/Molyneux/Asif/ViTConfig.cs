using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Molyneux.Modeling;

namespace Molyneux.Asif;

/// <summary>A ViT image encoder's shape, as Hugging Face's <c>ViTConfig</c> names it in config.json.</summary>
public sealed record ViTConfig(
    int HiddenSize = 768,
    int NumHiddenLayers = 12,
    int NumAttentionHeads = 12,
    int IntermediateSize = 3072,
    string HiddenAct = "gelu",
    double LayerNormEps = 1e-12,
    int ImageSize = 224,
    int PatchSize = 16,
    int NumChannels = 3,
    bool QkvBias = true) : IImageTowerConfig
{
    public const string ModelType = "vit";

    string IImageTowerConfig.ModelType => ModelType;

    [JsonIgnore]
    public int FeatureWidth => HiddenSize;

    public JsonObject ToHuggingFaceJson() => HfConfigFile.WithType(HfConfigFile.Fields(this), ModelType);

    public IImageTower CreateTower() => new ViTModel(this);

    [JsonIgnore]
    public int NumPatches => ImageSize / PatchSize * (ImageSize / PatchSize);

    public static ViTConfig FromFile(string path)
    {
        var config = HfConfigFile.Read<ViTConfig>(path);
        config.Validate(path);
        return config;
    }

    public void Save(string path) => HfConfigFile.Write(path, HfConfigFile.Fields(this), ModelType, "ViTModel");

    public void Validate(string source)
    {
        HfConfigFile.ValidateTransformer(source, HiddenSize, NumAttentionHeads, NumHiddenLayers, IntermediateSize, HiddenAct, LayerNormEps);
        if (PatchSize <= 0 || ImageSize % PatchSize != 0)
            throw new ConfigException($"{source}: image_size ({ImageSize}) must be a multiple of patch_size ({PatchSize})");
        if (NumChannels != 3) throw new ConfigException($"{source}: num_channels must be 3 (RGB), got {NumChannels}");
        // The attention block shared with CLIP always has q/k/v biases.
        if (!QkvBias) throw new ConfigException($"{source}: qkv_bias false is not supported");
    }
}
