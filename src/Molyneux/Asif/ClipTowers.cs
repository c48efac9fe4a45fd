using System.Text.Json.Nodes;
using Molyneux.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Asif;

// One tower of CLIP with its projection, trained on its own modality: Hugging Face's CLIPVisionModelWithProjection
// and CLIPTextModelWithProjection, whose state dicts are the CLIPModel's for that tower (vision_model.* +
// visual_projection.weight, text_model.* + text_projection.weight) and whose config.json is the tower's config with
// projection_dim. Molyneux's own unimodal encoders for ASIF are stored this way, so Python loads them as they are.

public sealed class ClipVisionTower : Module<Tensor, Tensor>
{
    public const string ModelType = "clip_vision_model";

    public readonly ClipVisionTransformer vision_model;
    public readonly Linear visual_projection;

    public ClipVisionTower(ClipVisionConfig config, int projectionDim) : base(nameof(ClipVisionTower))
    {
        (Config, ProjectionDim) = (config, projectionDim);
        vision_model = new ClipVisionTransformer(config);
        visual_projection = Linear(config.HiddenSize, projectionDim, hasBias: false);
        RegisterComponents();
    }

    public ClipVisionConfig Config { get; }

    public int ProjectionDim { get; }

    /// <summary>Image features [batch, projection_dim] (HF's image_embeds), not normalized.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.forward(pixelValues).Pooled).MoveToOuterDisposeScope();
    }

    public static ClipVisionTower FromConfigFile(string path)
    {
        var (config, projectionDim) = ClipTowerConfig.Read<ClipVisionConfig>(path);
        new ClipConfig(new ClipTextConfig(), config, projectionDim).Validate(path);
        return new ClipVisionTower(config, projectionDim);
    }

    public void SaveConfig(string path) =>
        ClipTowerConfig.Write(path, new ClipConfig(new ClipTextConfig(), Config, ProjectionDim), "vision_config", ModelType, "CLIPVisionModelWithProjection");
}

public sealed class ClipTextTower : Module<Tensor, Tensor>
{
    public const string ModelType = "clip_text_model";

    public readonly ClipTextTransformer text_model;
    public readonly Linear text_projection;

    public ClipTextTower(ClipTextConfig config, int projectionDim) : base(nameof(ClipTextTower))
    {
        (Config, ProjectionDim) = (config, projectionDim);
        text_model = new ClipTextTransformer(config);
        text_projection = Linear(config.HiddenSize, projectionDim, hasBias: false);
        RegisterComponents();
    }

    public ClipTextConfig Config { get; }

    public int ProjectionDim { get; }

    /// <summary>Text features [batch, projection_dim] (HF's text_embeds), not normalized.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text_projection.forward(text_model.forward(inputIds).Pooled).MoveToOuterDisposeScope();
    }

    public static ClipTextTower FromConfigFile(string path)
    {
        var (config, projectionDim) = ClipTowerConfig.Read<ClipTextConfig>(path);
        new ClipConfig(config, new ClipVisionConfig(), projectionDim).Validate(path);
        return new ClipTextTower(config, projectionDim);
    }

    public void SaveConfig(string path) =>
        ClipTowerConfig.Write(path, new ClipConfig(Config, new ClipVisionConfig(), ProjectionDim), "text_config", ModelType, "CLIPTextModelWithProjection");
}

/// <summary>A tower's config.json: the HF CLIPVisionConfig / CLIPTextConfig fields plus projection_dim.</summary>
internal static class ClipTowerConfig
{
    public static (T Config, int ProjectionDim) Read<T>(string path)
    {
        var projection = HfConfigFile.ReadObject(path)["projection_dim"] is JsonValue value && value.TryGetValue<int>(out var dim) ? dim : 512;
        return (HfConfigFile.Read<T>(path), projection);
    }

    /// <summary>Writes the section of a whole CLIP config that describes the tower (it already carries projection_dim).</summary>
    public static void Write(string path, ClipConfig config, string section, string modelType, string architecture) =>
        HfConfigFile.Write(path, config.ToHuggingFaceJson()[section]!.AsObject(), modelType, architecture);
}
