using System.Text.Json.Nodes;
using Molyneux.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Asif;

/// <summary>One tower of CLIP with its projection, trained on its own modality: Hugging Face's
/// CLIPVisionModelWithProjection or CLIPTextModelWithProjection. Their state dicts are the CLIPModel's for that tower
/// (vision_model.* + visual_projection.weight, text_model.* + text_projection.weight) and their config.json is the
/// tower's section of a CLIP config with projection_dim, so Python loads Molyneux's unimodal encoders as they are.</summary>
public sealed class ClipTower : Module<Tensor, Tensor>
{
    public const string VisionModelType = "clip_vision_model";
    public const string TextModelType = "clip_text_model";

    private readonly Module<Tensor, (Tensor LastHiddenState, Tensor Pooled)> transformer;
    private readonly Linear projection;

    private ClipTower(ClipConfig config, bool isVision) : base(nameof(ClipTower))
    {
        (Config, IsVision) = (config, isVision);
        transformer = isVision ? new ClipVisionTransformer(config.Vision) : new ClipTextTransformer(config.Text);
        projection = Linear(isVision ? config.Vision.HiddenSize : config.Text.HiddenSize, config.ProjectionDim, hasBias: false);
        // Registered under CLIPModel's names for this tower, which make the parameter names HF's.
        register_module(isVision ? "vision_model" : "text_model", transformer);
        register_module(isVision ? "visual_projection" : "text_projection", projection);
    }

    public static ClipTower Vision(ClipVisionConfig config, int projectionDim) => new(new ClipConfig(new ClipTextConfig(), config, projectionDim), isVision: true);

    public static ClipTower Text(ClipTextConfig config, int projectionDim) => new(new ClipConfig(config, new ClipVisionConfig(), projectionDim), isVision: false);

    /// <summary>A CLIP config of which only this tower's section and projection_dim mean anything.</summary>
    public ClipConfig Config { get; }

    public bool IsVision { get; }

    public int ProjectionDim => Config.ProjectionDim;

    public Module<Tensor, (Tensor LastHiddenState, Tensor Pooled)> Transformer => transformer;

    public Linear Projection => projection;

    /// <summary>Features [batch, projection_dim] (HF's image_embeds / text_embeds), not normalized, for pixel values
    /// or int64 token ids.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return projection.forward(transformer.forward(input).Pooled).MoveToOuterDisposeScope();
    }

    /// <summary>A tower of the shape config.json describes (its model_type says which), with fresh weights.</summary>
    public static ClipTower FromConfigFile(string path)
    {
        var root = HfConfigFile.ReadObject(path);
        var projectionDim = root["projection_dim"] is JsonValue value && value.TryGetValue<int>(out var dim) ? dim : 512;
        var modelType = root["model_type"] is JsonValue type && type.TryGetValue<string>(out var name) ? name : null;
        var tower = modelType switch
        {
            VisionModelType => Vision(HfConfigFile.Read<ClipVisionConfig>(path), projectionDim),
            TextModelType => Text(HfConfigFile.Read<ClipTextConfig>(path), projectionDim),
            _ => throw new ConfigException($"{path}: model_type '{modelType}' is not a CLIP tower ({VisionModelType} or {TextModelType})"),
        };
        tower.Config.Validate(path);
        return tower;
    }

    public void SaveConfig(string path) =>
        HfConfigFile.Write(path, Config.ToHuggingFaceJson()[IsVision ? "vision_config" : "text_config"]!.AsObject(),
            IsVision ? VisionModelType : TextModelType, IsVision ? "CLIPVisionModelWithProjection" : "CLIPTextModelWithProjection");
}
