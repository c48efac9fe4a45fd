using System.Text.Json;
using System.Text.Json.Nodes;
using Molyneux.Runtime;

namespace Molyneux.Modeling;

/// <summary>The text tower's shape, named as in Hugging Face's <c>CLIPTextConfig</c>.</summary>
public sealed record ClipTextConfig(
    int VocabSize = 49408,
    int HiddenSize = 512,
    int IntermediateSize = 2048,
    int NumAttentionHeads = 8,
    int NumHiddenLayers = 12,
    int MaxPositionEmbeddings = 77,
    string HiddenAct = "quick_gelu",
    double LayerNormEps = 1e-5,
    int BosTokenId = 0,
    int EosTokenId = 2,
    int PadTokenId = 1) : ITextTowerConfig
{
    string ITextTowerConfig.ModelType => Asif.ClipTower.TextModelType;

    int ITextTowerConfig.FeatureWidth => HiddenSize;

    int ITextTowerConfig.ContextLength => MaxPositionEmbeddings;

    void ITextTowerConfig.Validate(string source) => new ClipConfig(this, new ClipVisionConfig()).Validate(source);

    JsonObject ITextTowerConfig.ToHuggingFaceJson() => ClipTowerConfigs.Section(new ClipConfig(this, new ClipVisionConfig()), "text_config");

    ITextTower ITextTowerConfig.CreateTower() => new ClipTextModel(this);

    /// <summary>transformers treats eos_token_id 2 as the legacy OpenAI config and pools the text at the argmax of
    /// the ids (the end-of-text id is the largest); with any other id it pools at that id's first position.</summary>
    public bool PoolsAtArgmax => EosTokenId == 2;
}

/// <summary>The image tower's shape, named as in Hugging Face's <c>CLIPVisionConfig</c>.</summary>
public sealed record ClipVisionConfig(
    int HiddenSize = 768,
    int IntermediateSize = 3072,
    int NumAttentionHeads = 12,
    int NumHiddenLayers = 12,
    int ImageSize = 224,
    int PatchSize = 32,
    int NumChannels = 3,
    string HiddenAct = "quick_gelu",
    double LayerNormEps = 1e-5) : IImageTowerConfig
{
    string IImageTowerConfig.ModelType => Asif.ClipTower.VisionModelType;

    int IImageTowerConfig.FeatureWidth => HiddenSize;

    void IImageTowerConfig.Validate(string source) => new ClipConfig(new ClipTextConfig(), this).Validate(source);

    JsonObject IImageTowerConfig.ToHuggingFaceJson() => ClipTowerConfigs.Section(new ClipConfig(new ClipTextConfig(), this), "vision_config");

    IImageTower IImageTowerConfig.CreateTower() => new ClipVisionModel(this);

    public int GridSize => ImageSize / PatchSize;

    public int NumPositions => GridSize * GridSize + 1;
}

/// <summary>A whole CLIP model's shape: the HF <c>CLIPConfig</c> layout, readable from a HF <c>config.json</c> or an
/// open_clip model config, and writable back as a HF <c>config.json</c>.</summary>
public sealed record ClipConfig(ClipTextConfig Text, ClipVisionConfig Vision, int ProjectionDim = 512, double LogitScaleInitValue = 2.6592)
{
    private static readonly string[] SupportedActivations = ["quick_gelu", "gelu"];

    /// <summary>The shipped presets (configs as data, under Modeling/Presets): OpenAI's ViT-B-32, ViT-B-16, ViT-L-14,
    /// ViT-L-14-336, and Molyneux's own molyneux-micro, molyneux-tiny and molyneux-small.</summary>
    public static IReadOnlyList<string> PresetNames { get; } =
        typeof(ClipConfig).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(PresetPrefix, StringComparison.Ordinal))
            .Select(name => name[PresetPrefix.Length..^".json".Length])
            .Order(StringComparer.Ordinal).ToArray();

    private const string PresetPrefix = "Molyneux.Presets.";

    public static ClipConfig Preset(string name)
    {
        using var stream = typeof(ClipConfig).Assembly.GetManifestResourceStream(PresetPrefix + name + ".json")
            ?? throw new ConfigException($"no preset named '{name}' (known: {string.Join(", ", PresetNames)})");
        return Parse(JsonNode.Parse(stream)!, $"preset {name}");
    }

    public static ClipConfig FromFile(string path) => Parse(ReadJsonObject(path), path);

    /// <summary>The shipped preset called <paramref name="name"/> (case aside, so <c>vit-b-32</c> finds ViT-B-32), or null.</summary>
    public static string? PresetName(string name) => PresetNames.FirstOrDefault(preset => string.Equals(preset, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>A config as a user names it (<c>--config</c>, <c>--preset</c>): the file at that path if there is one, else
    /// the shipped preset of that name. The one place that decides, so that every option taking a config takes a preset
    /// too; a value that is neither is refused with the list of presets.</summary>
    public static ClipConfig FromFileOrPreset(string fileOrPreset)
    {
        if (File.Exists(fileOrPreset)) return FromFile(fileOrPreset);
        if (PresetName(fileOrPreset) is { } preset) return Preset(preset);
        throw new ConfigException(NotFileOrPreset(fileOrPreset));
    }

    /// <summary>The message for a config that is neither an existing file nor a preset name.</summary>
    public static string NotFileOrPreset(string fileOrPreset) =>
        $"{fileOrPreset}: file not found, and not the name of a shipped preset either (presets: {string.Join(", ", PresetNames)})";

    /// <summary>A configuration file's JSON object. A key written twice is refused here: JsonObject would otherwise
    /// fail with an ArgumentException on first access, and which of the two values was meant cannot be known.</summary>
    internal static JsonObject ReadJsonObject(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: file not found");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{path}: not valid JSON ({e.Message})", e);
        }
        return root as JsonObject ?? throw new ConfigException($"{path}: expected a JSON object");
    }

    /// <summary>Reads either layout: HF (<c>text_config</c>/<c>vision_config</c>) or open_clip
    /// (<c>embed_dim</c>/<c>vision_cfg</c>/<c>text_cfg</c>, as in open_clip's model_configs).</summary>
    public static ClipConfig Parse(JsonNode root, string source)
    {
        var reader = new ConfigReader(root as JsonObject ?? throw new ConfigException($"{source}: expected a JSON object"), source);
        var config = reader.Has("vision_cfg") ? reader.ReadOpenClip() : reader.ReadHuggingFace();
        config.Validate(source);
        return config;
    }

    public void Validate(string source)
    {
        void Require(bool condition, string field, string expectation)
        {
            if (!condition) throw new ConfigException($"{source}: {field} {expectation}");
        }
        Require(ProjectionDim > 0, "projection_dim", "must be positive");
        foreach (var (prefix, hidden, heads, layers, intermediate, act, eps) in new[]
                 {
                     ("text_config", Text.HiddenSize, Text.NumAttentionHeads, Text.NumHiddenLayers, Text.IntermediateSize, Text.HiddenAct, Text.LayerNormEps),
                     ("vision_config", Vision.HiddenSize, Vision.NumAttentionHeads, Vision.NumHiddenLayers, Vision.IntermediateSize, Vision.HiddenAct, Vision.LayerNormEps),
                 })
        {
            Require(hidden > 0, $"{prefix}.hidden_size", "must be positive");
            Require(heads > 0 && hidden % heads == 0, $"{prefix}.num_attention_heads", $"({heads}) must divide hidden_size ({hidden})");
            Require(layers > 0, $"{prefix}.num_hidden_layers", "must be positive");
            Require(intermediate > 0, $"{prefix}.intermediate_size", "must be positive");
            Require(SupportedActivations.Contains(act), $"{prefix}.hidden_act", $"'{act}' is not supported (expected {string.Join(" or ", SupportedActivations)})");
            Require(eps > 0, $"{prefix}.layer_norm_eps", "must be positive");
        }
        Require(Text.VocabSize > 0, "text_config.vocab_size", "must be positive");
        Require(Text.MaxPositionEmbeddings > 0, "text_config.max_position_embeddings", "must be positive");
        Require(Vision.PatchSize > 0 && Vision.ImageSize % Vision.PatchSize == 0, "vision_config.image_size",
            $"({Vision.ImageSize}) must be a multiple of patch_size ({Vision.PatchSize})");
        Require(Vision.NumChannels == 3, "vision_config.num_channels", "must be 3 (RGB)");
    }

    /// <summary>How many values the model of this configuration holds, counted from the sizes without building it
    /// (as a double, since a corrupt configuration can describe more than a long counts). It lets a loader refuse a
    /// configuration that does not belong to its weights before allocating the model.</summary>
    public double ParameterCount
    {
        get
        {
            static double Layer(double width, double intermediate) =>
                4 * (width * width + width) + 2 * 2 * width + 2 * width * intermediate + intermediate + width;
            var (text, vision) = (Text, Vision);
            var textTower = (double)(text.VocabSize + text.MaxPositionEmbeddings) * text.HiddenSize
                            + (double)text.NumHiddenLayers * Layer(text.HiddenSize, text.IntermediateSize) + 2.0 * text.HiddenSize;
            var visionTower = vision.HiddenSize * (1.0 + (double)vision.NumChannels * vision.PatchSize * vision.PatchSize + vision.NumPositions)
                              + (double)vision.NumHiddenLayers * Layer(vision.HiddenSize, vision.IntermediateSize) + 4.0 * vision.HiddenSize;
            return textTower + visionTower + (double)ProjectionDim * (text.HiddenSize + vision.HiddenSize) + 1;
        }
    }

    public JsonObject ToHuggingFaceJson() => new()
    {
        ["architectures"] = new JsonArray("CLIPModel"),
        ["model_type"] = "clip",
        ["projection_dim"] = ProjectionDim,
        ["logit_scale_init_value"] = LogitScaleInitValue,
        ["initializer_factor"] = 1.0,
        ["torch_dtype"] = "float32",
        ["text_config"] = new JsonObject
        {
            ["model_type"] = "clip_text_model",
            ["vocab_size"] = Text.VocabSize,
            ["hidden_size"] = Text.HiddenSize,
            ["intermediate_size"] = Text.IntermediateSize,
            ["num_attention_heads"] = Text.NumAttentionHeads,
            ["num_hidden_layers"] = Text.NumHiddenLayers,
            ["max_position_embeddings"] = Text.MaxPositionEmbeddings,
            ["projection_dim"] = ProjectionDim,
            ["hidden_act"] = Text.HiddenAct,
            ["layer_norm_eps"] = Text.LayerNormEps,
            ["attention_dropout"] = 0.0,
            ["dropout"] = 0.0,
            ["bos_token_id"] = Text.BosTokenId,
            ["eos_token_id"] = Text.EosTokenId,
            ["pad_token_id"] = Text.PadTokenId,
        },
        ["vision_config"] = new JsonObject
        {
            ["model_type"] = "clip_vision_model",
            ["hidden_size"] = Vision.HiddenSize,
            ["intermediate_size"] = Vision.IntermediateSize,
            ["num_attention_heads"] = Vision.NumAttentionHeads,
            ["num_hidden_layers"] = Vision.NumHiddenLayers,
            ["image_size"] = Vision.ImageSize,
            ["patch_size"] = Vision.PatchSize,
            ["num_channels"] = Vision.NumChannels,
            ["projection_dim"] = ProjectionDim,
            ["hidden_act"] = Vision.HiddenAct,
            ["layer_norm_eps"] = Vision.LayerNormEps,
            ["attention_dropout"] = 0.0,
            ["dropout"] = 0.0,
        },
    };

    public void Save(string path) =>
        AtomicFile.WriteAllText(path, ToHuggingFaceJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>Reads typed fields with messages that name the file and the field path.</summary>
    private sealed class ConfigReader(JsonObject root, string source)
    {
        public bool Has(string field) => root.ContainsKey(field);

        public ClipConfig ReadHuggingFace()
        {
            var text = Section("text_config");
            var vision = Section("vision_config");
            var defaults = new ClipConfig(new ClipTextConfig(), new ClipVisionConfig());
            var textConfig = new ClipTextConfig(
                VocabSize: Int(text, "text_config", "vocab_size", defaults.Text.VocabSize),
                HiddenSize: Int(text, "text_config", "hidden_size", defaults.Text.HiddenSize),
                IntermediateSize: Int(text, "text_config", "intermediate_size", defaults.Text.IntermediateSize),
                NumAttentionHeads: Int(text, "text_config", "num_attention_heads", defaults.Text.NumAttentionHeads),
                NumHiddenLayers: Int(text, "text_config", "num_hidden_layers", defaults.Text.NumHiddenLayers),
                MaxPositionEmbeddings: Int(text, "text_config", "max_position_embeddings", defaults.Text.MaxPositionEmbeddings),
                HiddenAct: String(text, "text_config", "hidden_act", defaults.Text.HiddenAct),
                LayerNormEps: Double(text, "text_config", "layer_norm_eps", defaults.Text.LayerNormEps),
                BosTokenId: Int(text, "text_config", "bos_token_id", defaults.Text.BosTokenId),
                EosTokenId: Int(text, "text_config", "eos_token_id", defaults.Text.EosTokenId),
                PadTokenId: Int(text, "text_config", "pad_token_id", defaults.Text.PadTokenId));
            var visionConfig = new ClipVisionConfig(
                HiddenSize: Int(vision, "vision_config", "hidden_size", defaults.Vision.HiddenSize),
                IntermediateSize: Int(vision, "vision_config", "intermediate_size", defaults.Vision.IntermediateSize),
                NumAttentionHeads: Int(vision, "vision_config", "num_attention_heads", defaults.Vision.NumAttentionHeads),
                NumHiddenLayers: Int(vision, "vision_config", "num_hidden_layers", defaults.Vision.NumHiddenLayers),
                ImageSize: Int(vision, "vision_config", "image_size", defaults.Vision.ImageSize),
                PatchSize: Int(vision, "vision_config", "patch_size", defaults.Vision.PatchSize),
                NumChannels: Int(vision, "vision_config", "num_channels", defaults.Vision.NumChannels),
                HiddenAct: String(vision, "vision_config", "hidden_act", defaults.Vision.HiddenAct),
                LayerNormEps: Double(vision, "vision_config", "layer_norm_eps", defaults.Vision.LayerNormEps));
            return new ClipConfig(textConfig, visionConfig,
                ProjectionDim: Int(root, "", "projection_dim", defaults.ProjectionDim),
                LogitScaleInitValue: Double(root, "", "logit_scale_init_value", defaults.LogitScaleInitValue));
        }

        /// <summary>open_clip derives vision heads as width / head_width (64 by default) and uses exact GELU unless
        /// <c>quick_gelu</c> is set, which OpenAI's own models need.</summary>
        public ClipConfig ReadOpenClip()
        {
            var vision = Section("vision_cfg");
            var text = Section("text_cfg");
            var activation = Bool(root, "", "quick_gelu", false) ? "quick_gelu" : "gelu";
            var visionWidth = Int(vision, "vision_cfg", "width", 768);
            var headWidth = Int(vision, "vision_cfg", "head_width", 64);
            if (headWidth <= 0) throw new ConfigException($"{source}: field 'vision_cfg.head_width' must be positive, got {headWidth}");
            var textWidth = Int(text, "text_cfg", "width", 512);
            var mlpRatio = Double(vision, "vision_cfg", "mlp_ratio", 4.0);
            return new ClipConfig(
                new ClipTextConfig(
                    VocabSize: Int(text, "text_cfg", "vocab_size", 49408),
                    HiddenSize: textWidth,
                    IntermediateSize: (int)(textWidth * Double(text, "text_cfg", "mlp_ratio", 4.0)),
                    NumAttentionHeads: Int(text, "text_cfg", "heads", 8),
                    NumHiddenLayers: Int(text, "text_cfg", "layers", 12),
                    MaxPositionEmbeddings: Int(text, "text_cfg", "context_length", 77),
                    HiddenAct: activation),
                new ClipVisionConfig(
                    HiddenSize: visionWidth,
                    IntermediateSize: (int)(visionWidth * mlpRatio),
                    NumAttentionHeads: Math.Max(1, visionWidth / headWidth),
                    NumHiddenLayers: Int(vision, "vision_cfg", "layers", 12),
                    ImageSize: Int(vision, "vision_cfg", "image_size", 224),
                    PatchSize: Int(vision, "vision_cfg", "patch_size", 32),
                    HiddenAct: activation),
                ProjectionDim: Int(root, "", "embed_dim", 512));
        }

        private JsonObject Section(string name) => root[name] switch
        {
            JsonObject section => section,
            null => throw new ConfigException($"{source}: missing field '{name}'"),
            _ => throw new ConfigException($"{source}: field '{name}' must be an object"),
        };

        private T Value<T>(JsonObject section, string prefix, string field, T fallback, string typeName)
        {
            var path = prefix.Length == 0 ? field : $"{prefix}.{field}";
            if (section[field] is not JsonValue value) return section.ContainsKey(field) && section[field] is not null
                ? throw new ConfigException($"{source}: field '{path}' must be {typeName}")
                : fallback;
            return value.TryGetValue<T>(out var result) ? result : throw new ConfigException($"{source}: field '{path}' must be {typeName}, found {value.ToJsonString()}");
        }

        private int Int(JsonObject section, string prefix, string field, int fallback) => Value(section, prefix, field, fallback, "an integer");

        private double Double(JsonObject section, string prefix, string field, double fallback) => Value(section, prefix, field, fallback, "a number");

        private string String(JsonObject section, string prefix, string field, string fallback) => Value(section, prefix, field, fallback, "a string");

        private bool Bool(JsonObject section, string prefix, string field, bool fallback) => Value(section, prefix, field, fallback, "true or false");
    }
}
