using System.Text.Json.Nodes;
using Molyneux.Asif;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Modeling;

/// <summary>Hugging Face's <c>CLIPVisionModel</c>: CLIP's image transformer under the attribute <c>vision_model</c>,
/// which is how a <c>VisionTextDualEncoderModel</c> with a CLIP image tower names its weights
/// (<c>vision_model.vision_model.encoder.layers.0…</c>). Its pooled output, the post-norm class token, is what HF's
/// dual encoder projects. The stages are the encoder layers.</summary>
public sealed class ClipVisionModel : Module<Tensor, Tensor>, IImageTower
{
    public readonly ClipVisionTransformer vision_model;

    public ClipVisionModel(ClipVisionConfig config) : this(config, new ClipVisionTransformer(config))
    {
    }

    /// <summary>Wraps an existing (pretrained) transformer of that shape.</summary>
    public ClipVisionModel(ClipVisionConfig config, ClipVisionTransformer transformer) : base(nameof(ClipVisionModel))
    {
        Config = config;
        vision_model = transformer;
        RegisterComponents();
    }

    public ClipVisionConfig Config { get; }

    public override Tensor forward(Tensor pixelValues) => vision_model.forward(pixelValues).Pooled;

    nn.Module IImageTower.Module => this;

    public int FeatureWidth => Config.HiddenSize;

    public int StageCount => Config.NumHiddenLayers;

    public string Description =>
        $"CLIP ViT, width {Config.HiddenSize}, {Config.NumHiddenLayers} layers, {Config.NumAttentionHeads} heads, patch {Config.PatchSize}";

    /// <summary>The module names are HF's already.</summary>
    public string HuggingFaceName(string moduleName) => moduleName;

    public bool IsIgnorable(string fileName) => EncoderFolder.IsPositionIds(fileName);

    public Tensor Stem(Tensor pixelValues) => vision_model.ForwardToLayer(pixelValues, 0);

    public Tensor Stages(Tensor hidden, int from, int to) => vision_model.encoder.Forward(hidden, causal: false, from, to);

    public Tensor Pool(Tensor hidden) => vision_model.post_layernorm.forward(hidden[.., 0]);

    public IEnumerable<Parameter> ParametersFromStage(int stage) =>
        vision_model.encoder.layers.Skip(stage).SelectMany(layer => layer.parameters()).Concat(vision_model.post_layernorm.parameters());

    public (Tensor Tokens, TokenGrid Grid) AsTokens(Tensor hidden) => (hidden.alias(), new TokenGrid(1, Config.GridSize, Config.GridSize));

    public Tensor FromTokens(Tensor tokens, TokenGrid grid) => tokens.alias();
}

/// <summary>Hugging Face's <c>CLIPTextModel</c>: CLIP's causal text transformer under the attribute
/// <c>text_model</c> (weights <c>text_model.text_model.…</c> in a dual encoder); its pooled output is the final-norm
/// state at the end-of-text token.</summary>
public sealed class ClipTextModel : Module<Tensor, Tensor>, ITextTower
{
    public readonly ClipTextTransformer text_model;

    public ClipTextModel(ClipTextConfig config) : this(new ClipTextTransformer(config))
    {
    }

    /// <summary>Wraps an existing (pretrained) transformer.</summary>
    public ClipTextModel(ClipTextTransformer transformer) : base(nameof(ClipTextModel))
    {
        text_model = transformer;
        RegisterComponents();
    }

    public ClipTextConfig Config => text_model.Config;

    public override Tensor forward(Tensor inputIds) => Pool(inputIds);

    nn.Module ITextTower.Module => this;

    public int FeatureWidth => Config.HiddenSize;

    public string Description =>
        $"CLIP text transformer, width {Config.HiddenSize}, {Config.NumHiddenLayers} layers, {Config.NumAttentionHeads} heads, end-of-text pooling";

    public string HuggingFaceName(string moduleName) => moduleName;

    public bool IsIgnorable(string fileName) => EncoderFolder.IsPositionIds(fileName);

    public Tensor Pool(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text_model.forward(inputIds).Pooled.MoveToOuterDisposeScope();
    }
}

/// <summary>The <c>vision_config</c> and <c>text_config</c> of a dual encoder whose towers are CLIP's, in the fields
/// of HF's CLIPVisionConfig and CLIPTextConfig (read and validated as a CLIPModel's sections are).</summary>
public static class ClipTowerConfigs
{
    public static ClipVisionConfig ReadVision(JsonObject vision, string source) =>
        ClipConfig.Parse(new JsonObject { ["vision_config"] = vision.DeepClone(), ["text_config"] = new JsonObject() }, source).Vision;

    public static ClipTextConfig ReadText(JsonObject text, string source) =>
        ClipConfig.Parse(new JsonObject { ["text_config"] = text.DeepClone(), ["vision_config"] = new JsonObject() }, source).Text;

    /// <summary>A CLIPModel config's section for one tower, without projection_dim (the dual encoder's own).</summary>
    public static JsonObject Section(ClipConfig config, string section)
    {
        var json = config.ToHuggingFaceJson()[section]!.DeepClone().AsObject();
        json.Remove("projection_dim");
        return json;
    }
}
