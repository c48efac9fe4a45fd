using System.Text.Json.Nodes;
using Molyneux.Asif;
using Molyneux.Onnx;
using Molyneux.Runtime;

namespace Molyneux.Modeling;

/// <summary>The config.json of a Hugging Face <c>VisionTextDualEncoderModel</c> (model_type
/// <c>vision_text_dual_encoder</c>): the two towers' own configs under <c>vision_config</c> and <c>text_config</c>
/// (each with its model_type), <c>projection_dim</c> and <c>logit_scale_init_value</c>. Image towers: a ResNet of
/// basic blocks (<c>resnet</c>, HF ResNetConfig's fields plus the <c>image_size</c> its processor gives), a ViT
/// (<c>vit</c>) or CLIP's (<c>clip_vision_model</c>); text towers: a BERT (<c>bert</c>) or CLIP's
/// (<c>clip_text_model</c>). Where HF's class takes a tower's pooler output and Molyneux pools otherwise, the config
/// says so: <c>text_pooling: mean</c> for a BERT (a sentence encoder such as MiniLM is trained with mean pooling) and
/// <c>vision_pooling: cls</c> for a ViT (its class token, without the classification pooler).</summary>
public sealed record DualEncoderConfig(IImageTowerConfig Vision, ITextTowerConfig Text, int ProjectionDim,
    double LogitScaleInitValue = DualEncoderConfig.HfLogitScaleInit)
{
    public const string ModelType = "vision_text_dual_encoder";
    public const string Architecture = "VisionTextDualEncoderModel";
    public const string MeanPooling = "mean";
    public const string ClassTokenPooling = "cls";

    /// <summary>HF's default: log(1 / 0.07), CLIP's initial temperature.</summary>
    public const double HfLogitScaleInit = 2.6592;

    public int ImageSize => Vision.ImageSize;

    public void Validate(string source)
    {
        Vision.Validate(source);
        Text.Validate(source);
        if (ProjectionDim <= 0) throw new ConfigException($"{source}: projection_dim must be positive, got {ProjectionDim}");
        if (!double.IsFinite(LogitScaleInitValue)) throw new ConfigException($"{source}: logit_scale_init_value must be finite");
    }

    /// <summary>The same model taking images of <paramref name="imageSize"/> px: a ResNet pools over any size; a
    /// transformer's position embeddings are made for one.</summary>
    public DualEncoderConfig WithImageSize(int imageSize) => Vision switch
    {
        _ when imageSize == ImageSize => this,
        ResNetConfig resnet => this with { Vision = resnet with { ImageSize = imageSize } },
        _ => throw new OptionException($"the {Vision.ModelType} image tower takes {ImageSize} px images only (its position embeddings are made for that size); " +
                                       "only a ResNet tower takes another input size"),
    };

    public JsonObject ToJson()
    {
        var root = new JsonObject
        {
            ["model_type"] = ModelType,
            ["architectures"] = new JsonArray(Architecture),
            ["projection_dim"] = ProjectionDim,
            ["logit_scale_init_value"] = LogitScaleInitValue,
        };
        if (Text is BertConfig) root["text_pooling"] = MeanPooling;
        if (Vision is ViTConfig) root["vision_pooling"] = ClassTokenPooling;
        root["vision_config"] = Vision.ToHuggingFaceJson();
        root["text_config"] = Text.ToHuggingFaceJson();
        return root;
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, HfConfigFile.Serialize(ToJson()));

    public static DualEncoderConfig FromFile(string path)
    {
        var root = HfConfigFile.ReadObject(path);
        if (String(root, "model_type", path) != ModelType)
            throw new ConfigException($"{path}: model_type is '{String(root, "model_type", path)}', not '{ModelType}'");
        var vision = Object(root, "vision_config", path);
        var text = Object(root, "text_config", path);
        DualEncoderConfig config;
        try
        {
            config = new DualEncoderConfig(ReadVision(root, vision, path), ReadText(root, text, path),
                root["projection_dim"]?.GetValue<int>() ?? 512,
                root["logit_scale_init_value"]?.GetValue<double>() ?? HfLogitScaleInit);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new ConfigException($"{path}: a field has the wrong type ({e.Message})", e);
        }
        config.Validate(path);
        return config;
    }

    private static IImageTowerConfig ReadVision(JsonObject root, JsonObject vision, string path)
    {
        var source = $"{path}: vision_config";
        var type = String(vision, "model_type", source);
        if (type == ViTConfig.ModelType) RequirePooling(root, "vision_pooling", ClassTokenPooling, path);
        return type switch
        {
            ResNetConfig.ModelType => ResNetConfig.FromHuggingFaceJson(vision, source),
            ViTConfig.ModelType => HfConfigFile.Deserialize<ViTConfig>(vision, source),
            ClipTower.VisionModelType => ClipTowerConfigs.ReadVision(vision, source),
            _ => throw new ConfigException($"{source} is a '{type}' tower; Molyneux's dual encoder takes '{ResNetConfig.ModelType}', " +
                                           $"'{ViTConfig.ModelType}' or '{ClipTower.VisionModelType}' image towers"),
        };
    }

    private static ITextTowerConfig ReadText(JsonObject root, JsonObject text, string path)
    {
        var source = $"{path}: text_config";
        var type = String(text, "model_type", source);
        if (type == BertConfig.ModelType) RequirePooling(root, "text_pooling", MeanPooling, path);
        return type switch
        {
            BertConfig.ModelType => HfConfigFile.Deserialize<BertConfig>(text, source),
            ClipTower.TextModelType => ClipTowerConfigs.ReadText(text, source),
            _ => throw new ConfigException($"{source} is a '{type}' tower; Molyneux's dual encoder takes '{BertConfig.ModelType}' " +
                                           $"or '{ClipTower.TextModelType}' text towers"),
        };
    }

    /// <summary>A pooling field is optional (absent means Molyneux's); any other pooling is refused rather than
    /// computed differently from what the file says.</summary>
    private static void RequirePooling(JsonObject root, string field, string supported, string path)
    {
        var pooling = root[field]?.GetValue<string>() ?? supported;
        if (pooling != supported) throw new ConfigException($"{path}: {field} '{pooling}' is not supported (expected '{supported}')");
    }

    private static JsonObject Object(JsonObject parent, string name, string source) =>
        parent[name] as JsonObject ?? throw new ConfigException($"{source}: no \"{name}\" object");

    private static string String(JsonObject parent, string name, string source) =>
        parent[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new ConfigException($"{source}: no \"{name}\" string");
}
