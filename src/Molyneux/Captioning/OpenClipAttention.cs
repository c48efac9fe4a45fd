using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Captioning;

// open_clip's modules carry the parameter names of torch.nn.MultiheadAttention and open_clip's own blocks (snake_case
// on purpose), so an open_clip state dict maps onto them one to one.

/// <summary>Multi-head attention with torch.nn.MultiheadAttention's parameters: one fused <c>in_proj_weight</c> [3W, W]
/// when keys and values have the query's width, else separate <c>q_proj_weight</c> [W, W], <c>k_proj_weight</c> and
/// <c>v_proj_weight</c> [W, kv width]; one fused <c>in_proj_bias</c> [3W] either way.</summary>
public sealed class OpenClipAttention : Module<Tensor, Tensor, Tensor>
{
    // Null where the other layout is used: TorchSharp registers only the fields that hold a parameter.
    public readonly Parameter? in_proj_weight;
    public readonly Parameter? q_proj_weight, k_proj_weight, v_proj_weight;
    public readonly Parameter in_proj_bias;
    public readonly Linear out_proj;
    private readonly int heads;

    public OpenClipAttention(int width, int heads, int keyValueWidth) : base(nameof(OpenClipAttention))
    {
        this.heads = heads;
        if (keyValueWidth == width)
            in_proj_weight = Parameter(zeros(3 * width, width));
        else
        {
            q_proj_weight = Parameter(zeros(width, width));
            k_proj_weight = Parameter(zeros(width, keyValueWidth));
            v_proj_weight = Parameter(zeros(width, keyValueWidth));
        }
        in_proj_bias = Parameter(zeros(3 * width));
        out_proj = Linear(width, width);
        RegisterComponents();
    }

    /// <summary>Attention of <paramref name="query"/> [batch, queries, W] to <paramref name="keyValue"/>, unmasked.</summary>
    public override Tensor forward(Tensor query, Tensor keyValue) => Forward(query, keyValue, allowed: null, causal: false);

    /// <param name="query">[batch, queries, W]</param>
    /// <param name="keyValue">[batch, keys, kv width]: the source of both keys and values.</param>
    /// <param name="allowed">bool [batch, queries, keys], true where the query may see the key; null: every key.</param>
    /// <param name="causal">Query i sees keys 0..i only.</param>
    public Tensor Forward(Tensor query, Tensor keyValue, Tensor? allowed, bool causal)
    {
        using var scope = NewDisposeScope();
        var weights = in_proj_weight?.chunk(3) ?? [q_proj_weight!, k_proj_weight!, v_proj_weight!];
        var biases = in_proj_bias.chunk(3);
        var (batch, queries, width) = (query.shape[0], query.shape[1], query.shape[2]);
        Tensor SplitHeads(Tensor x) => x.view(batch, x.shape[1], heads, width / heads).transpose(1, 2);
        var attended = functional.scaled_dot_product_attention(
            SplitHeads(functional.linear(query, weights[0], biases[0])),
            SplitHeads(functional.linear(keyValue, weights[1], biases[1])),
            SplitHeads(functional.linear(keyValue, weights[2], biases[2])),
            attn_mask: allowed?.unsqueeze(1),
            is_casual: causal);
        return out_proj.call(attended.transpose(1, 2).reshape(batch, queries, width)).MoveToOuterDisposeScope();
    }
}
