using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Molyneux.Asif;
using Molyneux.Runtime;

namespace Molyneux.Captioning;

/// <summary>open_clip's <c>vision_cfg</c> (CLIPVisionCfg) for a CoCa image tower; absent keys take open_clip's defaults.</summary>
public sealed record CocaVisionConfig(
    int ImageSize = 224,
    int Layers = 12,
    int Width = 768,
    int HeadWidth = 64,
    double MlpRatio = 4.0,
    int PatchSize = 16,
    bool AttentionalPool = false,
    int AttnPoolerQueries = 256,
    int AttnPoolerHeads = 8,
    bool OutputTokens = false)
{
    /// <summary>open_clip derives the head count from the head width, not from a head count.</summary>
    [JsonIgnore] public int Heads => Width / HeadWidth;

    [JsonIgnore] public int GridSize => ImageSize / PatchSize;

    [JsonIgnore] public int MlpWidth => (int)(Width * MlpRatio);
}

/// <summary>open_clip's <c>text_cfg</c> (CLIPTextCfg) for CoCa's unimodal text tower.</summary>
public sealed record CocaTextConfig(
    int ContextLength = 77,
    int VocabSize = 49408,
    int Width = 512,
    int Heads = 8,
    int Layers = 12,
    double MlpRatio = 4.0,
    bool EmbedCls = false,
    int PadId = 0,
    bool OutputTokens = false)
{
    [JsonIgnore] public int MlpWidth => (int)(Width * MlpRatio);
}

/// <summary>open_clip's <c>multimodal_cfg</c> (MultimodalCfg) for CoCa's decoder. Its <c>n_queries</c>,
/// <c>dim_head</c>, <c>attn_pooler_heads</c> and <c>mlp_ratio</c> exist in open_clip but nothing reads them: the
/// decoder's MLP is always four times its width.</summary>
public sealed record CocaMultimodalConfig(
    int ContextLength = 77,
    int VocabSize = 49408,
    int Width = 512,
    int Heads = 8,
    int Layers = 12,
    int AttnPoolerHeads = 8)
{
    [JsonIgnore] public int MlpWidth => 4 * Width;
}

/// <summary>An open_clip CoCa model config (the format of open_clip's <c>model_configs/coca_ViT-B-32.json</c>).</summary>
public sealed record CocaConfig(
    int EmbedDim,
    [property: JsonPropertyName("vision_cfg")] CocaVisionConfig Vision,
    [property: JsonPropertyName("text_cfg")] CocaTextConfig Text,
    [property: JsonPropertyName("multimodal_cfg")] CocaMultimodalConfig Multimodal,
    bool QuickGelu = false)
{
    /// <summary>Keys open_clip accepts, with the value (open_clip's default) for which they build the architecture
    /// implemented here: foreign towers, layer scale, other pooling or other normalisation. Another value is refused
    /// rather than ignored, since most of them change the computation without changing a tensor's name or shape.</summary>
    private static readonly (string Section, string Key, JsonNode? Default)[] FixedKeys =
    [
        ("", "init_logit_bias", null),
        ("vision_cfg", "timm_model_name", null), ("vision_cfg", "ls_init_value", null), ("vision_cfg", "no_ln_pre", false),
        ("vision_cfg", "final_ln_after_pool", false), ("vision_cfg", "pool_type", "tok"), ("vision_cfg", "pos_embed_type", "learnable"),
        ("vision_cfg", "input_patchnorm", false), ("vision_cfg", "act_kwargs", null), ("vision_cfg", "norm_kwargs", null),
        ("text_cfg", "hf_model_name", null), ("text_cfg", "ls_init_value", null), ("text_cfg", "no_causal_mask", false),
        ("text_cfg", "final_ln_after_pool", false), ("text_cfg", "proj_bias", false), ("text_cfg", "proj_type", "linear"),
        ("text_cfg", "act_kwargs", null), ("text_cfg", "norm_kwargs", null), ("multimodal_cfg", "ls_init_value", null),
    ];

    public static CocaConfig FromFile(string path) => Parse(HfConfigFile.ReadObject(path), path);

    /// <summary>Whether an open_clip model config describes a CoCa: open_clip's <c>create_model</c> builds one when the
    /// config has <c>multimodal_cfg</c>.</summary>
    public static bool DescribesCoca(string path) => HfConfigFile.ReadObject(path).ContainsKey("multimodal_cfg");

    /// <param name="source">Names the config in error messages (its path).</param>
    /// <param name="root">The parsed open_clip config JSON (model_cfg or the file's root).</param>
    public static CocaConfig Parse(JsonObject root, string source)
    {
        foreach (var section in new[] { "vision_cfg", "text_cfg", "multimodal_cfg" })
            if (root[section] is not JsonObject)
                throw new ConfigException($"{source}: field '{section}' must be an object{(root.ContainsKey(section) ? "" : " (missing; a CoCa config has all three of vision_cfg, text_cfg and multimodal_cfg)")}");
        if (root["embed_dim"] is null) throw new ConfigException($"{source}: missing field 'embed_dim'");
        foreach (var (section, key, fallback) in FixedKeys)
        {
            var value = (section.Length == 0 ? root : root[section]!.AsObject())[key];
            if (value is not null && !JsonNode.DeepEquals(value, fallback))
                throw new ConfigException($"{source}: field '{(section.Length == 0 ? key : $"{section}.{key}")}' ({value.ToJsonString()}) is not supported: " +
                                          $"only {fallback?.ToJsonString() ?? "null"} (open_clip's default) is");
        }
        if (root["vision_cfg"]!["attentional_pool"] is JsonValue pool && pool.TryGetValue<string>(out var poolKind))
            throw new ConfigException($"{source}: field 'vision_cfg.attentional_pool' \"{poolKind}\" (separate contrastive and captioning poolers) " +
                                      "is not supported; the released CoCa configs use true (one pooler)");
        var config = HfConfigFile.Deserialize<CocaConfig>(root, source);
        config.Validate(source);
        return config;
    }

    public void Validate(string source)
    {
        void Require(bool condition, string field, string expectation)
        {
            if (!condition) throw new ConfigException($"{source}: {field} {expectation}");
        }
        Require(EmbedDim > 0, "embed_dim", "must be positive");
        Require(Vision.Width > 0 && Vision.HeadWidth > 0 && Vision.Width % Vision.HeadWidth == 0, "vision_cfg.head_width",
            $"({Vision.HeadWidth}) must divide vision_cfg.width ({Vision.Width})");
        Require(Vision.Layers > 0, "vision_cfg.layers", "must be positive");
        Require(Vision.MlpWidth > 0, "vision_cfg.mlp_ratio", "must be positive");
        Require(Vision.PatchSize > 0 && Vision.ImageSize > 0 && Vision.ImageSize % Vision.PatchSize == 0, "vision_cfg.image_size",
            $"({Vision.ImageSize}) must be a positive multiple of vision_cfg.patch_size ({Vision.PatchSize})");
        Require(Vision.AttentionalPool, "vision_cfg.attentional_pool", "must be true: CoCa's decoder attends to the pooler's outputs");
        Require(Vision.AttnPoolerQueries > 1, "vision_cfg.attn_pooler_queries", "must be at least 2 (one contrastive token, the rest for the decoder)");
        Require(Vision.AttnPoolerHeads > 0 && EmbedDim % Vision.AttnPoolerHeads == 0, "vision_cfg.attn_pooler_heads",
            $"({Vision.AttnPoolerHeads}) must divide embed_dim ({EmbedDim})");
        Require(Text.Width > 0 && Text.Heads > 0 && Text.Width % Text.Heads == 0, "text_cfg.heads", $"({Text.Heads}) must divide text_cfg.width ({Text.Width})");
        Require(Text.Layers > 0, "text_cfg.layers", "must be positive");
        Require(Text.MlpWidth > 0, "text_cfg.mlp_ratio", "must be positive");
        Require(Text.ContextLength > 0, "text_cfg.context_length", "must be positive");
        Require(Text.VocabSize > 0, "text_cfg.vocab_size", "must be positive");
        Require(Text.EmbedCls, "text_cfg.embed_cls", "must be true: CoCa's text feature is that of the appended CLS token");
        Require(Multimodal.Width > 0 && Multimodal.Heads > 0 && Multimodal.Width % Multimodal.Heads == 0, "multimodal_cfg.heads",
            $"({Multimodal.Heads}) must divide multimodal_cfg.width ({Multimodal.Width})");
        Require(Multimodal.Layers > 0, "multimodal_cfg.layers", "must be positive");
        Require(Multimodal.ContextLength > 0, "multimodal_cfg.context_length", "must be positive");
        // The decoder reads the text tower's token states and attends to the pooler's rows with one width.
        Require(Text.Width == Multimodal.Width, "text_cfg.width", $"({Text.Width}) must equal multimodal_cfg.width ({Multimodal.Width})");
        Require(EmbedDim == Multimodal.Width, "embed_dim", $"({EmbedDim}) must equal multimodal_cfg.width ({Multimodal.Width})");
    }

    /// <summary>How many values the model of this configuration holds, counted from the sizes without building it
    /// (as a double, since a corrupt configuration can describe more than a long counts): a loader can refuse a
    /// configuration that cannot belong to its weights before allocating the model.</summary>
    [JsonIgnore]
    public double ParameterCount
    {
        get
        {
            static double LayerNorm(double width) => 2 * width;
            static double Block(double width, double mlpWidth) =>
                2 * LayerNorm(width) + 4 * width * width + 4 * width + 2 * width * mlpWidth + mlpWidth + width;
            var (vision, text, decoder, embed) = (Vision, Text, Multimodal, (double)EmbedDim);
            var grid = (double)vision.GridSize;
            var visionTower = 3.0 * vision.PatchSize * vision.PatchSize * vision.Width + (grid * grid + 2) * vision.Width
                              + LayerNorm(vision.Width) + (double)vision.Layers * Block(vision.Width, vision.MlpWidth)
                              + (double)vision.AttnPoolerQueries * embed + LayerNorm(embed) + LayerNorm(vision.Width)
                              + 2 * embed * embed + 2 * embed * vision.Width + 4 * embed + LayerNorm(embed) + embed * embed;
            var textTower = ((double)text.VocabSize + text.ContextLength + 2) * text.Width
                            + (double)text.Layers * Block(text.Width, text.MlpWidth) + LayerNorm(text.Width) + (double)text.Width * embed;
            var textDecoder = (double)decoder.Layers * (2 * Block(decoder.Width, decoder.MlpWidth) + LayerNorm(decoder.Width))
                              + LayerNorm(decoder.Width) + (double)decoder.Width * VocabSize;
            return visionTower + textTower + textDecoder + 1;
        }
    }

    /// <summary>open_clip sizes the decoder's output by the text tower's vocabulary.</summary>
    [JsonIgnore] public int VocabSize => Text.VocabSize;

    [JsonIgnore] public string Activation => QuickGelu ? "quick_gelu" : "gelu";

    /// <summary>Writes the config in open_clip's format, atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, HfConfigFile.Serialize(HfConfigFile.Fields(this)));
}
