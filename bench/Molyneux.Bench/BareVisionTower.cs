using Molyneux.Modeling;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.Bench;

/// <summary>CLIP's image tower as a straight run of libtorch calls on a <see cref="ClipModel"/>'s own weights: no
/// modules, no forward hooks, no dispose scopes of its own, the weights looked up once; quick_gelu, as in every preset. What the library's modules
/// add over the kernels is the difference between them and this (<see cref="OverheadBenchmark"/>).</summary>
internal sealed class BareVisionTower
{
    private sealed record Layer(Tensor[] Norm1, Tensor[] Query, Tensor[] Key, Tensor[] Value, Tensor[] Out, Tensor[] Norm2, Tensor[] Fc1, Tensor[] Fc2);

    private readonly ClipVisionConfig config;
    private readonly Tensor patchWeight, classEmbedding, positions, projection;
    private readonly Tensor[] preNorm, postNorm;
    private readonly Layer[] layers;

    public BareVisionTower(ClipModel model)
    {
        config = model.Config.Vision;
        var weights = model.named_parameters().ToDictionary(entry => entry.name, entry => (Tensor)entry.parameter);
        Tensor[] Pair(string prefix) => [weights[prefix + ".weight"], weights[prefix + ".bias"]];
        patchWeight = weights["vision_model.embeddings.patch_embedding.weight"];
        classEmbedding = weights["vision_model.embeddings.class_embedding"];
        positions = weights["vision_model.embeddings.position_embedding.weight"];
        projection = weights["visual_projection.weight"];
        preNorm = Pair("vision_model.pre_layrnorm");
        postNorm = Pair("vision_model.post_layernorm");
        layers = Enumerable.Range(0, config.NumHiddenLayers).Select(i => $"vision_model.encoder.layers.{i}.").Select(prefix => new Layer(
            Pair(prefix + "layer_norm1"), Pair(prefix + "self_attn.q_proj"), Pair(prefix + "self_attn.k_proj"), Pair(prefix + "self_attn.v_proj"),
            Pair(prefix + "self_attn.out_proj"), Pair(prefix + "layer_norm2"), Pair(prefix + "mlp.fc1"), Pair(prefix + "mlp.fc2"))).ToArray();
    }

    /// <summary>Unnormalized image features of normalized pixels [N, 3, S, S] in the weights' dtype.</summary>
    public Tensor Features(Tensor pixels)
    {
        var count = pixels.shape[0];
        var width = (long)config.HiddenSize;
        var heads = (long)config.NumAttentionHeads;
        long[] normalized = [width];
        var patches = conv2d(pixels, patchWeight, strides: [config.PatchSize, config.PatchSize]).flatten(2).transpose(1, 2);
        var x = layer_norm(cat([classEmbedding.expand(count, 1, -1), patches], 1) + positions, normalized, preNorm[0], preNorm[1], config.LayerNormEps);
        var tokens = x.shape[1];
        foreach (var layer in layers)
        {
            var h = layer_norm(x, normalized, layer.Norm1[0], layer.Norm1[1], config.LayerNormEps);
            var attended = scaled_dot_product_attention(
                linear(h, layer.Query[0], layer.Query[1]).view(count, tokens, heads, width / heads).transpose(1, 2),
                linear(h, layer.Key[0], layer.Key[1]).view(count, tokens, heads, width / heads).transpose(1, 2),
                linear(h, layer.Value[0], layer.Value[1]).view(count, tokens, heads, width / heads).transpose(1, 2));
            x = x + linear(attended.transpose(1, 2).reshape(count, tokens, width), layer.Out[0], layer.Out[1]);
            var inner = linear(layer_norm(x, normalized, layer.Norm2[0], layer.Norm2[1], config.LayerNormEps), layer.Fc1[0], layer.Fc1[1]);
            x = x + linear(inner * (inner * 1.702).sigmoid(), layer.Fc2[0], layer.Fc2[1]);
        }
        return linear(layer_norm(x[.., 0], normalized, postNorm[0], postNorm[1], config.LayerNormEps), projection);
    }
}
