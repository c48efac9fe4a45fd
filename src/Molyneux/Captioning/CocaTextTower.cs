using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

/// <summary>CoCa's unimodal text tower (open_clip's <c>TextTransformer</c> with <c>embed_cls</c>): a causal
/// transformer over the token embeddings with a learned CLS embedding appended after them. The CLS output, after
/// ln_final, is the text feature; the token outputs, without ln_final, are what the decoder reads.</summary>
public sealed class CocaTextTower : Module<Tensor, (Tensor Features, Tensor TokenStates)>
{
    public readonly Embedding token_embedding;
    public readonly Parameter cls_emb;
    public readonly Parameter positional_embedding;
    public readonly OpenClipTransformer transformer;
    public readonly LayerNorm ln_final;
    public readonly Parameter text_projection;
    private readonly long padId;

    public CocaTextTower(CocaConfig config) : base(nameof(CocaTextTower))
    {
        var text = config.Text;
        padId = text.PadId;
        ContextLength = text.ContextLength;
        token_embedding = Embedding(text.VocabSize, text.Width);
        cls_emb = Parameter(zeros(text.Width));
        positional_embedding = Parameter(zeros(text.ContextLength + 1, text.Width));
        transformer = new OpenClipTransformer(text.Width, text.Heads, text.Layers, text.MlpWidth, config.Activation);
        ln_final = LayerNorm(text.Width, ResidualAttentionBlock.LayerNormEps);
        text_projection = Parameter(zeros(text.Width, config.EmbedDim));
        RegisterComponents();
    }

    /// <summary>The longest id sequence the tower takes (the CLS takes one more position).</summary>
    public int ContextLength { get; }

    /// <param name="inputIds">int64 [batch, length], length ≤ <see cref="ContextLength"/></param>
    /// <returns>The unnormalized text features [batch, embed_dim] and the token states [batch, length, width].</returns>
    public override (Tensor Features, Tensor TokenStates) forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var length = inputIds.shape[1];
        var states = transformer.Forward(Embeddings(inputIds), AttentionAllowed(inputIds));
        var features = ln_final.forward(states[.., length]).matmul(text_projection);
        return (features.MoveToOuterDisposeScope(), states[.., ..(int)length].MoveToOuterDisposeScope());
    }

    /// <summary>The token embeddings with the CLS embedding appended, plus the positional embedding:
    /// [batch, length + 1, width].</summary>
    public Tensor Embeddings(Tensor inputIds)
    {
        var length = inputIds.shape[1];
        if (length < 1 || length > ContextLength)
            throw new ArgumentException($"the text tower takes 1 to {ContextLength} token ids per text, got {length}", nameof(inputIds));
        using var scope = NewDisposeScope();
        var tokens = token_embedding.call(inputIds);
        var cls = cls_emb.expand(inputIds.shape[0], 1, -1);
        return cat([tokens, cls], 1).Plus(positional_embedding[..(int)(length + 1)]).MoveToOuterDisposeScope();
    }

    /// <summary>Which keys each query sees, bool [batch, length + 1, length + 1]: causal, and a key hidden where the
    /// id one position before it is the pad id. The shift is open_clip's legacy mask (correct_cls_mask=False),
    /// which the released CoCa weights were trained with: key 0 is always visible, the CLS sees the first padding
    /// position but not itself, and a real token with the pad's id (BPE's "!" is id 0) hides the key after it.</summary>
    public Tensor AttentionAllowed(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var (batch, positions) = (inputIds.shape[0], inputIds.shape[1] + 1);
        var causal = ones(positions, positions, ScalarType.Bool, inputIds.device).tril();
        var shiftedValidity = cat([ones(batch, 1, ScalarType.Bool, inputIds.device), inputIds.EqualTo(padId).logical_not()], 1);
        return causal.unsqueeze(0).logical_and(shiftedValidity.unsqueeze(1)).MoveToOuterDisposeScope();
    }
}
