using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Asif;

// Hugging Face's ViTModel (modeling_vit.py). A ViT layer is exactly CLIP's pre-norm residual block (LayerNorm,
// attention, residual; LayerNorm, GELU MLP, residual), so the encoder is CLIP's, with exact GELU; only the names in
// the checkpoint differ, which ViTNaming translates. The embeddings differ in shape (a biased patch projection, the
// class token and position table as plain parameters) and carry HF's names directly.

public sealed class ViTPatchEmbeddings : Module<Tensor, Tensor>
{
    public readonly Conv2d projection;

    public ViTPatchEmbeddings(ViTConfig config) : base(nameof(ViTPatchEmbeddings))
    {
        projection = Conv2d(config.NumChannels, config.HiddenSize, config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    /// <returns>[batch, patches, hidden], patches in row-major order.</returns>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return projection.forward(pixelValues).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}

public sealed class ViTEmbeddings : Module<Tensor, Tensor>
{
    public readonly Parameter cls_token;
    public readonly ViTPatchEmbeddings patch_embeddings;
    public readonly Parameter position_embeddings;

    public ViTEmbeddings(ViTConfig config) : base(nameof(ViTEmbeddings))
    {
        cls_token = Parameter(zeros(1, 1, config.HiddenSize));
        patch_embeddings = new ViTPatchEmbeddings(config);
        position_embeddings = Parameter(zeros(1, config.NumPatches + 1, config.HiddenSize));
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embeddings.forward(pixelValues);
        if (patches.shape[1] + 1 != position_embeddings.shape[1])
            throw new ArgumentException($"image of {pixelValues.shape[2]}x{pixelValues.shape[3]} px gives {patches.shape[1]} patches; " +
                                        $"the model has position embeddings for {position_embeddings.shape[1] - 1}");
        var tokens = cat([cls_token.expand(patches.shape[0], -1, -1), patches], 1);
        return tokens.Plus(position_embeddings).MoveToOuterDisposeScope();
    }
}

/// <summary>The ViT encoder; <see cref="Embed"/> takes the class token of the final-norm states (CLS pooling).
/// As a dual encoder's image tower its stages are the encoder layers, and it pools the same way (HF's ViTModel would
/// feed its pooler, a dense layer with tanh trained for a classification head; the dual encoder's config records
/// <c>vision_pooling: cls</c>).</summary>
public sealed class ViTModel : Module<Tensor, Tensor>, IImageTower
{
    public readonly ViTEmbeddings embeddings;
    public readonly ClipEncoder encoder;
    public readonly LayerNorm layernorm;

    public ViTModel(ViTConfig config) : base(nameof(ViTModel))
    {
        Config = config;
        embeddings = new ViTEmbeddings(config);
        encoder = new ClipEncoder(config.HiddenSize, config.IntermediateSize, config.NumAttentionHeads, config.NumHiddenLayers, "gelu", config.LayerNormEps);
        layernorm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public ViTConfig Config { get; }

    nn.Module IImageTower.Module => this;

    public int FeatureWidth => Config.HiddenSize;

    public int StageCount => Config.NumHiddenLayers;

    public string Description =>
        $"ViT, width {Config.HiddenSize}, {Config.NumHiddenLayers} layers, {Config.NumAttentionHeads} heads, patch {Config.PatchSize}, class-token pooling";

    public string HuggingFaceName(string moduleName) => ViTNaming.HuggingFaceName(moduleName);

    public bool IsIgnorable(string fileName) => ViTNaming.IsIgnorable(fileName) || EncoderFolder.IsPositionIds(fileName);

    public Tensor Stem(Tensor pixelValues) => embeddings.forward(pixelValues);

    public Tensor Stages(Tensor hidden, int from, int to) => encoder.Forward(hidden, causal: false, from, to);

    /// <summary>The final-norm class token of the last layer's states: [batch, hidden].</summary>
    public Tensor Pool(Tensor hidden) => layernorm.forward(hidden[.., 0]);

    public IEnumerable<Parameter> ParametersFromStage(int stage) =>
        encoder.layers.Skip(stage).SelectMany(layer => layer.parameters()).Concat(layernorm.parameters());

    public (Tensor Tokens, TokenGrid Grid) AsTokens(Tensor hidden)
    {
        var side = Config.ImageSize / Config.PatchSize;
        return (hidden.alias(), new TokenGrid(1, side, side));
    }

    public Tensor FromTokens(Tensor tokens, TokenGrid grid) => tokens.alias();

    /// <summary>HF's last_hidden_state [batch, 1 + patches, hidden].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return layernorm.forward(encoder.forward(embeddings.forward(pixelValues), false)).MoveToOuterDisposeScope();
    }

    /// <summary>The class token's final state [batch, hidden]: the image's embedding.</summary>
    public Tensor Embed(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return forward(pixelValues)[.., 0].MoveToOuterDisposeScope();
    }
}

/// <summary>Module names → Hugging Face ViTModel names.</summary>
public static class ViTNaming
{
    private static readonly ParameterRenaming Renaming = new(
    [
        ("encoder.layers.", "encoder.layer."),
        (".self_attn.q_proj.", ".attention.attention.query."),
        (".self_attn.k_proj.", ".attention.attention.key."),
        (".self_attn.v_proj.", ".attention.attention.value."),
        (".self_attn.out_proj.", ".attention.output.dense."),
        (".mlp.fc1.", ".intermediate.dense."),
        (".mlp.fc2.", ".output.dense."),
        (".layer_norm1.", ".layernorm_before."),
        (".layer_norm2.", ".layernorm_after."),
    ]);

    public static string HuggingFaceName(string moduleName) => Renaming.CheckpointName(moduleName);

    /// <summary>HF's pooler (a dense layer with tanh over the class token, trained for the pretraining head) is not
    /// used: the embedding is the class token itself.</summary>
    public static bool IsIgnorable(string fileName) => fileName.StartsWith("pooler.", StringComparison.Ordinal);
}
