using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>open_clip's initialisation of a CoCa trained from scratch (TextTransformer, VisionTransformer,
/// MultimodalTransformer and AttentionalPooler): small token and position embeddings, attention and MLP weights scaled
/// by width and depth so each residual stream starts near identity, zero biases, unit LayerNorms, temperature 1/0.07.
/// A <see cref="CocaModel"/> is built with zeros (it expects a checkpoint), so a model trained from scratch needs this.
/// Every draw comes from the seed's own generator, so a model is the same whatever else the process initialises.</summary>
public static class CocaInitialization
{
    public static void Apply(CocaModel model, int seed)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var random = new Generator((ulong)seed * 0x9E3779B97F4A7C15UL + 0xC0CAUL);
        var config = model.Config;
        foreach (var (name, parameter) in model.named_parameters())
        {
            var (width, layers) = name.StartsWith("visual.", StringComparison.Ordinal) ? (config.Vision.Width, config.Vision.Layers)
                : name.StartsWith("text_decoder.", StringComparison.Ordinal) ? (config.Multimodal.Width, config.Multimodal.Layers)
                : (config.Text.Width, config.Text.Layers);
            var attentionStd = Math.Pow(width, -0.5);
            var projectionStd = attentionStd * Math.Pow(2 * layers, -0.5);
            switch (name)
            {
                case "logit_scale":
                    parameter.fill_(Math.Log(1 / 0.07));
                    break;
                case "text.token_embedding.weight":
                    Normal(parameter, 0.02, random);
                    break;
                case "text.positional_embedding" or "text.cls_emb":
                    Normal(parameter, 0.01, random);
                    break;
                case "text.text_projection":
                    Normal(parameter, Math.Pow(config.Text.Width, -0.5), random);
                    break;
                case "text_decoder.text_projection":
                    Normal(parameter, Math.Pow(config.Multimodal.Width, -0.5), random);
                    break;
                case "visual.class_embedding" or "visual.positional_embedding" or "visual.proj":
                    Normal(parameter, Math.Pow(config.Vision.Width, -0.5), random);
                    break;
                case "visual.attn_pool.query":
                    Normal(parameter, 1.0, random);
                    break;
                case "visual.conv1.weight":
                    // PyTorch's default for a convolution (Kaiming uniform with a = √5): U(±1/√fan_in).
                    var bound = 1 / Math.Sqrt(parameter.shape[1] * parameter.shape[2] * parameter.shape[3]);
                    parameter.copy_(rand(parameter.shape, generator: random) * (2 * bound) - bound);
                    break;
                default:
                    InitializeLayer(name, parameter, attentionStd, projectionStd, width, random);
                    break;
            }
        }
    }

    /// <summary>The tensors inside attention and MLP blocks, poolers and LayerNorms, told apart by their names.</summary>
    private static void InitializeLayer(string name, Tensor parameter, double attentionStd, double projectionStd, int width, Generator random)
    {
        var leaf = name[(name.LastIndexOf('.') + 1)..];
        if (name.Contains(".ln_", StringComparison.Ordinal))
        {
            if (leaf == "weight") parameter.fill_(1);
            else parameter.zero_();
        }
        else if (leaf is "in_proj_bias" or "bias") parameter.zero_();
        else if (leaf is "in_proj_weight" or "q_proj_weight" or "k_proj_weight" or "v_proj_weight") Normal(parameter, attentionStd, random);
        else if (name.EndsWith("attn.out_proj.weight", StringComparison.Ordinal) || name.EndsWith("mlp.c_proj.weight", StringComparison.Ordinal))
            Normal(parameter, projectionStd, random);
        else if (name.EndsWith("mlp.c_fc.weight", StringComparison.Ordinal)) Normal(parameter, Math.Pow(2 * width, -0.5), random);
        else throw new InvalidOperationException($"CoCa initialisation: no rule for the tensor '{name}'");
    }

    private static void Normal(Tensor parameter, double std, Generator random) =>
        parameter.copy_(randn(parameter.shape, generator: random) * std);
}
