using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

/// <summary>CoCa's multimodal decoder (open_clip's <c>MultimodalTransformer</c>): in each layer a causal
/// self-attention block over the text token states, then a cross-attention block to the image tokens; ln_final and
/// a bias-free projection to the vocabulary. It has no embeddings of its own: positions come from the text tower.</summary>
public sealed class CocaTextDecoder : Module<Tensor, Tensor, Tensor>
{
    public readonly ModuleList<ResidualAttentionBlock> resblocks;
    public readonly ModuleList<ResidualAttentionBlock> cross_attn;
    public readonly LayerNorm ln_final;
    public readonly Parameter text_projection;

    public CocaTextDecoder(CocaConfig config) : base(nameof(CocaTextDecoder))
    {
        var decoder = config.Multimodal;
        ContextLength = decoder.ContextLength;
        resblocks = new ModuleList<ResidualAttentionBlock>(Enumerable.Range(0, decoder.Layers)
            .Select(_ => new ResidualAttentionBlock(decoder.Width, decoder.Heads, decoder.MlpWidth, config.Activation)).ToArray());
        cross_attn = new ModuleList<ResidualAttentionBlock>(Enumerable.Range(0, decoder.Layers)
            .Select(_ => new ResidualAttentionBlock(decoder.Width, decoder.Heads, decoder.MlpWidth, config.Activation, crossAttention: true)).ToArray());
        ln_final = LayerNorm(decoder.Width, ResidualAttentionBlock.LayerNormEps);
        text_projection = Parameter(zeros(decoder.Width, config.VocabSize));
        RegisterComponents();
    }

    /// <summary>The longest text the decoder's causal mask covers.</summary>
    public int ContextLength { get; }

    /// <param name="imageTokens">[batch, image tokens, width]</param>
    /// <param name="tokenStates">the text tower's token states [batch, length, width], length ≤ <see cref="ContextLength"/></param>
    /// <returns>The vocabulary logits [batch, length, vocab].</returns>
    public override Tensor forward(Tensor imageTokens, Tensor tokenStates)
    {
        using var scope = NewDisposeScope();
        return ln_final.forward(Layers(imageTokens, tokenStates)).matmul(text_projection).MoveToOuterDisposeScope();
    }

    /// <summary>The states after the last layer, before ln_final.</summary>
    public Tensor Layers(Tensor imageTokens, Tensor tokenStates)
    {
        if (tokenStates.shape[1] > ContextLength)
            throw new ArgumentException($"the decoder takes at most {ContextLength} positions, got {tokenStates.shape[1]}", nameof(tokenStates));
        using var scope = NewDisposeScope();
        var x = tokenStates;
        for (var i = 0; i < resblocks.Count; i++)
            x = cross_attn[i].CrossForward(resblocks[i].Forward(x, allowed: null, causal: true), imageTokens);
        return x.MoveToOuterDisposeScope();
    }
}
