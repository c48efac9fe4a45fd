using Molyneux.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>OpenAI CLIP's initialisation (model.py, initialize_parameters), for training from scratch: small
/// embeddings, attention and MLP weights scaled by width and depth so the residual stream starts near identity,
/// zero biases, and temperature 1/0.07.</summary>
public static class ClipInitialization
{
    public static void Apply(ClipModel model)
    {
        using var _ = no_grad();
        ApplyText(model.text_model, model.text_projection);
        ApplyVision(model.vision_model, model.visual_projection);
        model.logit_scale.fill_(Math.Log(1 / 0.07));
    }

    /// <summary>The text tower and its projection alone (a unimodal text encoder is one).</summary>
    public static void ApplyText(ClipTextTransformer text, Linear projection)
    {
        using var _ = no_grad();
        var config = text.Config;
        nn.init.normal_(text.embeddings.token_embedding.weight!, std: 0.02);
        nn.init.normal_(text.embeddings.position_embedding.weight!, std: 0.01);
        InitializeEncoder(text.encoder, config.HiddenSize, config.NumHiddenLayers);
        nn.init.normal_(projection.weight!, std: Math.Pow(config.HiddenSize, -0.5));
    }

    /// <summary>The vision tower and its projection alone (a unimodal image encoder is one).</summary>
    public static void ApplyVision(ClipVisionTransformer vision, Linear projection)
    {
        using var _ = no_grad();
        var width = (int)vision.embeddings.class_embedding.shape[0];
        var visionScale = Math.Pow(width, -0.5);
        var embeddings = vision.embeddings;
        nn.init.normal_(embeddings.class_embedding, std: visionScale);
        nn.init.normal_(embeddings.position_embedding.weight!, std: visionScale);
        InitializeEncoder(vision.encoder, width, vision.encoder.layers.Count);
        nn.init.normal_(projection.weight!, std: visionScale);
    }

    private static void InitializeEncoder(ClipEncoder encoder, int width, int layers)
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
                    nn.init.normal_(parameter, std: name.StartsWith("self_attn.out_proj", StringComparison.Ordinal) ? projectionStd : attentionStd);
                else if (name == "mlp.fc1.weight")
                    nn.init.normal_(parameter, std: fcStd);
                else if (name == "mlp.fc2.weight")
                    nn.init.normal_(parameter, std: projectionStd);
            }
        }
    }
}
