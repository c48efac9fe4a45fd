using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Molyneux.Modeling;

namespace Molyneux.Asif;

/// <summary>A BERT-family text encoder's shape, as Hugging Face's <c>BertConfig</c> names it in config.json.</summary>
public sealed record BertConfig(
    int VocabSize = 30522,
    int HiddenSize = 768,
    int NumHiddenLayers = 12,
    int NumAttentionHeads = 12,
    int IntermediateSize = 3072,
    string HiddenAct = "gelu",
    int MaxPositionEmbeddings = 512,
    int TypeVocabSize = 2,
    double LayerNormEps = 1e-12,
    int PadTokenId = 0,
    string PositionEmbeddingType = "absolute") : ITextTowerConfig
{
    public const string ModelType = "bert";

    /// <summary>Tokens per text in a dual encoder, as CLIP's context: captions and prompts are short, and every
    /// padded position costs.</summary>
    public const int DualEncoderContextLength = 77;

    string ITextTowerConfig.ModelType => ModelType;

    [JsonIgnore]
    public int FeatureWidth => HiddenSize;

    [JsonIgnore]
    public int ContextLength => Math.Min(DualEncoderContextLength, MaxPositionEmbeddings);

    public JsonObject ToHuggingFaceJson() => HfConfigFile.WithType(HfConfigFile.Fields(this), ModelType);

    public ITextTower CreateTower() => new BertModel(this);

    public static BertConfig FromFile(string path)
    {
        var config = HfConfigFile.Read<BertConfig>(path);
        config.Validate(path);
        return config;
    }

    public void Save(string path) => HfConfigFile.Write(path, HfConfigFile.Fields(this), ModelType, "BertModel");

    public void Validate(string source)
    {
        HfConfigFile.ValidateTransformer(source, HiddenSize, NumAttentionHeads, NumHiddenLayers, IntermediateSize, HiddenAct, LayerNormEps);
        if (VocabSize <= 0) throw new ConfigException($"{source}: vocab_size must be positive");
        if (MaxPositionEmbeddings < 2) throw new ConfigException($"{source}: max_position_embeddings must be at least 2 ([CLS] and [SEP])");
        if (TypeVocabSize <= 0) throw new ConfigException($"{source}: type_vocab_size must be positive");
        // Relative position variants add parameters this model does not have.
        if (PositionEmbeddingType != "absolute")
            throw new ConfigException($"{source}: position_embedding_type '{PositionEmbeddingType}' is not supported (expected 'absolute')");
    }
}
