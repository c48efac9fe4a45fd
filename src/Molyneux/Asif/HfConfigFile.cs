using System.Text.Json;
using System.Text.Json.Nodes;
using Molyneux.Runtime;

namespace Molyneux.Asif;

/// <summary>The config.json of a Hugging Face model folder, for the unimodal encoders: its fields map onto a config
/// record by snake_case name (<c>hidden_size</c> → <c>HiddenSize</c>); fields the record lacks are ignored, since HF
/// writes many that inference does not need, and a field of the wrong type fails naming the file.</summary>
internal static class HfConfigFile
{
    public const string FileName = "config.json";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The folder's <c>model_type</c> ("vit", "bert", "clip_vision_model", …), which says which encoder reads it.</summary>
    public static string ModelType(string folder)
    {
        var root = ReadObject(Path.Combine(folder, FileName));
        return root["model_type"] is JsonValue value && value.TryGetValue<string>(out var type)
            ? type
            : throw new ConfigException($"{Path.Combine(folder, FileName)}: no \"model_type\" string");
    }

    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: file not found");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject ?? throw new ConfigException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    public static T Read<T>(string path) => Deserialize<T>(ReadObject(path), path);

    /// <summary>A config record from a JSON object (a whole config.json, or a nested one such as <c>text_config</c>);
    /// <paramref name="source"/> names it in errors.</summary>
    public static T Deserialize<T>(JsonObject fields, string source)
    {
        try
        {
            return fields.Deserialize<T>(Options) ?? throw new ConfigException($"{source}: empty config");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: field '{e.Path?.TrimStart('$', '.')}' has the wrong type ({e.Message})", e);
        }
    }

    /// <summary>The fields of a config record in config.json's spelling.</summary>
    public static JsonObject Fields(object config) => JsonSerializer.SerializeToNode(config, config.GetType(), Options)!.AsObject();

    /// <summary>Writes <paramref name="fields"/> with HF's <c>model_type</c> and <c>architectures</c>, atomically.</summary>
    public static void Write(string path, JsonObject fields, string modelType, string architecture) =>
        AtomicFile.WriteAllText(path, WithType(fields, modelType, architecture).ToJsonString(Options) + "\n");

    /// <summary>A copy of <paramref name="fields"/> with HF's <c>model_type</c> and <c>architectures</c>.</summary>
    public static JsonObject WithType(JsonObject fields, string modelType, string? architecture = null)
    {
        var root = (JsonObject)fields.DeepClone();
        root["model_type"] = modelType;
        if (architecture is not null) root["architectures"] = new JsonArray(architecture);
        return root;
    }

    public static string Serialize(JsonObject root) => root.ToJsonString(Options) + "\n";

    /// <summary>Checks the shape every transformer encoder here shares; the message names the file and the field.</summary>
    public static void ValidateTransformer(string source, int hiddenSize, int numAttentionHeads, int numHiddenLayers,
        int intermediateSize, string hiddenAct, double layerNormEps)
    {
        void Require(bool condition, string field, string expectation)
        {
            if (!condition) throw new ConfigException($"{source}: {field} {expectation}");
        }
        Require(hiddenSize > 0, "hidden_size", "must be positive");
        Require(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0, "num_attention_heads", $"({numAttentionHeads}) must divide hidden_size ({hiddenSize})");
        Require(numHiddenLayers > 0, "num_hidden_layers", "must be positive");
        Require(intermediateSize > 0, "intermediate_size", "must be positive");
        // HF's "gelu" is the exact, erf-based GELU; the tanh approximations ("gelu_new", "gelu_pytorch_tanh") differ.
        Require(hiddenAct == "gelu", "hidden_act", $"'{hiddenAct}' is not supported (expected the exact 'gelu')");
        Require(layerNormEps > 0, "layer_norm_eps", "must be positive");
    }
}
