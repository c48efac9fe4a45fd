using Molyneux.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>OpenAI CLIP's initialisation (model.py, initialize_parameters), for training from scratch: small
/// embeddings, attention and MLP weights scaled by width and depth so the residual stream starts near identity,
/// zero biases, and temperature 1/0.07. Every random draw comes from the seed's own generator, never torch's global
/// one, so a model is the same whatever else the process initialises meanwhile (tests run in parallel).</summary>
public static class ClipInitialization
{
    public static void Apply(ClipModel model, int seed)
    {
        using var _ = no_grad();
        ApplyText(model.text_model, model.text_projection, seed);
        ApplyVision(model.vision_model, model.visual_projection, seed);
        model.logit_scale.fill_(Math.Log(1 / 0.07));
    }

    /// <summary>The text tower and its projection alone (a unimodal text encoder is one).</summary>
    public static void ApplyText(ClipTextTransformer text, Linear projection, int seed)
    {
        using var _ = no_grad();
        using var temporaries = NewDisposeScope();
        var random = new Generator((ulong)seed);
        var config = text.Config;
        Normal(text.embeddings.token_embedding.weight!, 0.02, random);
        Normal(text.embeddings.position_embedding.weight!, 0.01, random);
        InitializeEncoder(text.encoder, config.HiddenSize, config.NumHiddenLayers, random);
        Normal(projection.weight!, Math.Pow(config.HiddenSize, -0.5), random);
    }

    /// <summary>The vision tower and its projection alone (a unimodal image encoder is one).</summary>
    public static void ApplyVision(ClipVisionTransformer vision, Linear projection, int seed)
    {
        using var _ = no_grad();
        using var temporaries = NewDisposeScope();
        // Another stream than the text tower's, so that equal shapes in both towers do not start out equal.
        var random = new Generator((ulong)seed ^ 0x5DEECE66DUL);
        var width = (int)vision.embeddings.class_embedding.shape[0];
        var visionScale = Math.Pow(width, -0.5);
        var embeddings = vision.embeddings;
        // PyTorch's default for a convolution (Kaiming uniform with a = √5): U(±1/√fan_in).
        var patch = embeddings.patch_embedding.weight!;
        var bound = 1 / Math.Sqrt(patch.shape[1] * patch.shape[2] * patch.shape[3]);
        patch.copy_(rand(patch.shape, generator: random) * (2 * bound) - bound);
        Normal(embeddings.class_embedding, visionScale, random);
        Normal(embeddings.position_embedding.weight!, visionScale, random);
        InitializeEncoder(vision.encoder, width, vision.encoder.layers.Count, random);
        Normal(projection.weight!, visionScale, random);
    }

    private static void Normal(Tensor parameter, double std, Generator random) =>
        parameter.copy_(randn(parameter.shape, generator: random) * std);

    private static void InitializeEncoder(ClipEncoder encoder, int width, int layers, Generator random)
    {
        var attentionStd = Math.Pow(width, -0.5);
        var projectionStd = attentionStd * Math.Pow(2 * layers, -0.5);
        var fcStd = Math.Pow(2 * width, -0.5);
        foreach (var layer in encoder.layers)
        {
            foreach (var (name, parameter) in layer.named_parameters())
            {
                if (name.EndsWith(".bias", StringComparison.Ordinal) && !name.Contains("layer_norm", StringComparison.Ordinal))
                    parameter.zero_();
                else if (name.StartsWith("self_attn.", StringComparison.Ordinal))
                    Normal(parameter, name.StartsWith("self_attn.out_proj", StringComparison.Ordinal) ? projectionStd : attentionStd, random);
                else if (name == "mlp.fc1.weight")
                    Normal(parameter, fcStd, random);
                else if (name == "mlp.fc2.weight")
                    Normal(parameter, projectionStd, random);
            }
        }
    }
}
