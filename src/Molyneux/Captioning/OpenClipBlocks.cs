using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

/// <summary>open_clip's MLP: <c>c_fc</c>, exact GELU (or quick_gelu, x·σ(1.702x), where the config asks for it),
/// <c>c_proj</c>.</summary>
public sealed class OpenClipMlp : Module<Tensor, Tensor>
{
    public readonly Linear c_fc, c_proj;
    private readonly bool quickGelu;

    public OpenClipMlp(int width, int hiddenWidth, string activation) : base(nameof(OpenClipMlp))
    {
        quickGelu = activation == "quick_gelu";
        c_fc = Linear(width, hiddenWidth);
        c_proj = Linear(hiddenWidth, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return c_proj.call(Activation(c_fc.call(x))).MoveToOuterDisposeScope();
    }

    public Tensor Activation(Tensor x) => GeluActivation.Apply(x, quickGelu);
}

/// <summary>open_clip's pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). As a cross-attention
/// block it has <c>ln_1_kv</c>, and its keys and values come from ln_1_kv of another sequence (the image tokens).</summary>
public sealed class ResidualAttentionBlock : Module<Tensor, Tensor>
{
    public readonly LayerNorm ln_1;
    public readonly LayerNorm? ln_1_kv;
    public readonly OpenClipAttention attn;
    public readonly LayerNorm ln_2;
    public readonly OpenClipMlp mlp;

    public ResidualAttentionBlock(int width, int heads, int mlpWidth, string activation, bool crossAttention = false)
        : base(nameof(ResidualAttentionBlock))
    {
        ln_1 = LayerNorm(width, LayerNormEps);
        if (crossAttention) ln_1_kv = LayerNorm(width, LayerNormEps);
        attn = new OpenClipAttention(width, heads, width);
        ln_2 = LayerNorm(width, LayerNormEps);
        mlp = new OpenClipMlp(width, mlpWidth, activation);
        RegisterComponents();
    }

    /// <summary>open_clip's LayerNorm keeps torch's default epsilon.</summary>
    public const double LayerNormEps = 1e-5;

    public override Tensor forward(Tensor x) => Forward(x, allowed: null, causal: false);

    /// <summary>Self-attention with an optional mask: <paramref name="allowed"/> bool [batch, queries, keys].</summary>
    public Tensor Forward(Tensor x, Tensor? allowed, bool causal)
    {
        using var scope = NewDisposeScope();
        var normalized = ln_1.forward(x);
        var afterAttention = x.Plus(attn.Forward(normalized, normalized, allowed, causal));
        return afterAttention.Plus(mlp.forward(ln_2.forward(afterAttention))).MoveToOuterDisposeScope();
    }

    /// <summary>Cross-attention of the queries <paramref name="x"/> to <paramref name="keyValue"/>, without a mask.</summary>
    public Tensor CrossForward(Tensor x, Tensor keyValue)
    {
        if (ln_1_kv is null) throw new InvalidOperationException("a self-attention block has no ln_1_kv for cross-attention");
        using var scope = NewDisposeScope();
        var afterAttention = x.Plus(attn.forward(ln_1.forward(x), ln_1_kv.forward(keyValue)));
        return afterAttention.Plus(mlp.forward(ln_2.forward(afterAttention))).MoveToOuterDisposeScope();
    }
}

/// <summary>open_clip's <c>Transformer</c>: a stack of <c>resblocks</c>.</summary>
public sealed class OpenClipTransformer : Module<Tensor, Tensor>
{
    public readonly ModuleList<ResidualAttentionBlock> resblocks;

    public OpenClipTransformer(int width, int heads, int layers, int mlpWidth, string activation) : base(nameof(OpenClipTransformer))
    {
        resblocks = new ModuleList<ResidualAttentionBlock>(Enumerable.Range(0, layers)
            .Select(_ => new ResidualAttentionBlock(width, heads, mlpWidth, activation)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, allowed: null);

    /// <param name="allowed">bool [batch, queries, keys], true where a query may see a key; null: no mask.</param>
    /// <param name="x">[batch, length, width] the token states entering the first block.</param>
    public Tensor Forward(Tensor x, Tensor? allowed)
    {
        using var scope = NewDisposeScope();
        var hidden = x;
        foreach (var block in resblocks) hidden = block.Forward(hidden, allowed, causal: false);
        return hidden.MoveToOuterDisposeScope();
    }
}
