using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

/// <summary>open_clip's <c>AttentionalPooler</c>: learned queries attend to the image tokens; no residual, no MLP.</summary>
public sealed class AttentionalPooler : Module<Tensor, Tensor>
{
    public readonly Parameter query;
    public readonly OpenClipAttention attn;
    public readonly LayerNorm ln_q, ln_k;

    public AttentionalPooler(int width, int tokenWidth, int heads, int queries) : base(nameof(AttentionalPooler))
    {
        query = Parameter(zeros(queries, width));
        attn = new OpenClipAttention(width, heads, tokenWidth);
        ln_q = LayerNorm(width, ResidualAttentionBlock.LayerNormEps);
        ln_k = LayerNorm(tokenWidth, ResidualAttentionBlock.LayerNormEps);
        RegisterComponents();
    }

    /// <param name="tokens">[batch, tokens, token width]</param>
    /// <returns>[batch, queries, width]</returns>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var queries = ln_q.forward(query).expand(tokens.shape[0], -1, -1);
        return attn.forward(queries, ln_k.forward(tokens)).MoveToOuterDisposeScope();
    }
}

/// <summary>CoCa's image tower (open_clip's <c>VisionTransformer</c> with an attentional pooler): a ViT whose
/// tokens, class token included, go straight into the pooler; ln_post normalises the pooled rows. Row 0 is the
/// contrastive token, the other rows are what the decoder attends to (open_clip's original CoCa setup).</summary>
public sealed class CocaVisionTower : Module<Tensor, (Tensor Features, Tensor ImageTokens)>
{
    public readonly Conv2d conv1;
    public readonly Parameter class_embedding;
    public readonly Parameter positional_embedding;
    public readonly LayerNorm ln_pre;
    public readonly OpenClipTransformer transformer;
    public readonly AttentionalPooler attn_pool;
    public readonly LayerNorm ln_post;
    public readonly Parameter proj;

    public CocaVisionTower(CocaConfig config) : base(nameof(CocaVisionTower))
    {
        var vision = config.Vision;
        conv1 = Conv2d(3, vision.Width, vision.PatchSize, stride: vision.PatchSize, bias: false);
        class_embedding = Parameter(zeros(vision.Width));
        positional_embedding = Parameter(zeros(vision.GridSize * vision.GridSize + 1, vision.Width));
        ln_pre = LayerNorm(vision.Width, ResidualAttentionBlock.LayerNormEps);
        transformer = new OpenClipTransformer(vision.Width, vision.Heads, vision.Layers, vision.MlpWidth, config.Activation);
        attn_pool = new AttentionalPooler(config.EmbedDim, vision.Width, vision.AttnPoolerHeads, vision.AttnPoolerQueries);
        ln_post = LayerNorm(config.EmbedDim, ResidualAttentionBlock.LayerNormEps);
        proj = Parameter(zeros(config.EmbedDim, config.EmbedDim));
        RegisterComponents();
    }

    /// <param name="pixelValues">normalized images [batch, 3, size, size]</param>
    /// <returns>The unnormalized contrastive features [batch, embed_dim] and the image tokens for the decoder
    /// [batch, queries − 1, embed_dim].</returns>
    public override (Tensor Features, Tensor ImageTokens) forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var pooled = ln_post.forward(attn_pool.forward(transformer.forward(ln_pre.forward(Embeddings(pixelValues)))));
        var features = pooled[.., 0].matmul(proj);
        return (features.MoveToOuterDisposeScope(), pooled[.., 1..].MoveToOuterDisposeScope());
    }

    /// <summary>The patch embeddings (row-major over the grid) [batch, patches, width].</summary>
    public Tensor PatchEmbeddings(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return conv1.forward(pixelValues.to(class_embedding.dtype)).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>The class token in front of the patches, plus the positional embedding: what ln_pre normalises.</summary>
    public Tensor Embeddings(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = PatchEmbeddings(pixelValues);
        if (patches.shape[1] + 1 != positional_embedding.shape[0])
            throw new ArgumentException($"image of {pixelValues.shape[2]}x{pixelValues.shape[3]} px gives {patches.shape[1]} patches; " +
                                        $"the model has positional embeddings for {positional_embedding.shape[0] - 1}");
        var classToken = class_embedding.expand(patches.shape[0], 1, -1);
        return cat([classToken, patches], 1).Plus(positional_embedding).MoveToOuterDisposeScope();
    }
}
