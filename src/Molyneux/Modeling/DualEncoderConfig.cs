using System.Text.Json.Nodes;
using Molyneux.Asif;
using Molyneux.Onnx;
using Molyneux.Runtime;

namespace Molyneux.Modeling;

/// <summary>The config.json of a Hugging Face <c>VisionTextDualEncoderModel</c> (model_type
/// <c>vision_text_dual_encoder</c>): the two towers' own configs under <c>vision_config</c> and <c>text_config</c>,
/// <c>projection_dim</c> and <c>logit_scale_init_value</c>. The vision tower is a ResNet of basic blocks in HF
/// ResNetConfig's fields (<c>depths</c>, <c>hidden_sizes</c>, <c>layer_type: basic</c>) plus the <c>image_size</c>
/// its processor gives; the text tower is a BERT. Where HF's class takes the text tower's pooler output, a
/// sentence encoder such as MiniLM is trained with mean pooling: <c>text_pooling</c> records which.</summary>
public sealed record DualEncoderConfig(ResNetConfig Vision, int ImageSize, BertConfig Text, int ProjectionDim,
    double LogitScaleInitValue = DualEncoderConfig.HfLogitScaleInit, string TextPooling = DualEncoderConfig.MeanPooling)
{
    public const string ModelType = "vision_text_dual_encoder";
    public const string Architecture = "VisionTextDualEncoderModel";
    public const string MeanPooling = "mean";

    /// <summary>HF's default: log(1 / 0.07), CLIP's initial temperature.</summary>
    public const double HfLogitScaleInit = 2.6592;

    public void Validate(string source)
    {
        Vision.Validate(source);
        Text.Validate(source);
        if (ProjectionDim <= 0) throw new ConfigException($"{source}: projection_dim must be positive, got {ProjectionDim}");
        if (ImageSize <= 0 || ImageSize % ResNetConfig.Downsampling != 0)
            throw new ConfigException($"{source}: vision_config.image_size must be a positive multiple of {ResNetConfig.Downsampling}, got {ImageSize}");
        if (!double.IsFinite(LogitScaleInitValue)) throw new ConfigException($"{source}: logit_scale_init_value must be finite");
        if (TextPooling != MeanPooling)
            throw new ConfigException($"{source}: text_pooling '{TextPooling}' is not supported (expected '{MeanPooling}')");
    }

    public JsonObject ToJson()
    {
        var vision = new JsonObject
        {
            ["model_type"] = "resnet",
            ["layer_type"] = "basic",
            ["embedding_size"] = ResNetConfig.StemWidth,
            ["hidden_sizes"] = new JsonArray(Enumerable.Range(0, Vision.Layers.Count).Select(stage => (JsonNode)ResNetConfig.StageWidth(stage)).ToArray()),
            ["depths"] = new JsonArray(Vision.Layers.Select(count => (JsonNode)count).ToArray()),
            ["hidden_act"] = "relu",
            ["downsample_in_first_stage"] = false,
            ["num_channels"] = 3,
            ["batch_norm_eps"] = Vision.BatchNormEps,
            ["image_size"] = ImageSize,
        };
        return new JsonObject
        {
            ["model_type"] = ModelType,
            ["architectures"] = new JsonArray(Architecture),
            ["projection_dim"] = ProjectionDim,
            ["logit_scale_init_value"] = LogitScaleInitValue,
            ["text_pooling"] = TextPooling,
            ["vision_config"] = vision,
            ["text_config"] = HfConfigFile.WithType(HfConfigFile.Fields(Text), BertConfig.ModelType),
        };
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, HfConfigFile.Serialize(ToJson()));

    public static DualEncoderConfig FromFile(string path)
    {
        var root = HfConfigFile.ReadObject(path);
        if (String(root, "model_type", path) != ModelType)
            throw new ConfigException($"{path}: model_type is '{String(root, "model_type", path)}', not '{ModelType}'");
        var vision = Object(root, "vision_config", path);
        var text = Object(root, "text_config", path);
        var visionType = String(vision, "model_type", $"{path}: vision_config");
        if (visionType != "resnet" || (vision["layer_type"]?.GetValue<string>() ?? "basic") != "basic")
            throw new ConfigException($"{path}: vision_config is a '{visionType}' tower; Molyneux's dual encoder takes a ResNet of basic blocks (model_type 'resnet', layer_type 'basic')");
        if (String(text, "model_type", $"{path}: text_config") != BertConfig.ModelType)
            throw new ConfigException($"{path}: text_config is a '{text["model_type"]}' tower; Molyneux's dual encoder takes a 'bert' text tower");
        var depths = vision["depths"] as JsonArray ?? throw new ConfigException($"{path}: vision_config has no \"depths\" array");
        DualEncoderConfig config;
        try
        {
            config = new DualEncoderConfig(
                new ResNetConfig(depths.Select(depth => depth!.GetValue<int>()).ToList(), vision["batch_norm_eps"]?.GetValue<double>() ?? 1e-5),
                vision["image_size"]?.GetValue<int>() ?? 224,
                HfConfigFile.Deserialize<BertConfig>(text, $"{path}: text_config"),
                root["projection_dim"]?.GetValue<int>() ?? 512,
                root["logit_scale_init_value"]?.GetValue<double>() ?? HfLogitScaleInit,
                root["text_pooling"]?.GetValue<string>() ?? MeanPooling);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new ConfigException($"{path}: a field has the wrong type ({e.Message})", e);
        }
        config.Validate(path);
        return config;
    }

    private static JsonObject Object(JsonObject parent, string name, string source) =>
        parent[name] as JsonObject ?? throw new ConfigException($"{source}: no \"{name}\" object");

    private static string String(JsonObject parent, string name, string source) =>
        parent[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new ConfigException($"{source}: no \"{name}\" string");
}
