using Molyneux.Modeling;
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
        var config = model.Config;
        nn.init.normal_(model.text_model.embeddings.token_embedding.weight!, std: 0.02);
        nn.init.normal_(model.text_model.embeddings.position_embedding.weight!, std: 0.01);
        InitializeEncoder(model.text_model.encoder, config.Text.HiddenSize, config.Text.NumHiddenLayers);
        nn.init.normal_(model.text_projection.weight!, std: Math.Pow(config.Text.HiddenSize, -0.5));

        var visionScale = Math.Pow(config.Vision.HiddenSize, -0.5);
        var embeddings = model.vision_model.embeddings;
        nn.init.normal_(embeddings.class_embedding, std: visionScale);
        nn.init.normal_(embeddings.position_embedding.weight!, std: visionScale);
        InitializeEncoder(model.vision_model.encoder, config.Vision.HiddenSize, config.Vision.NumHiddenLayers);
        nn.init.normal_(model.visual_projection.weight!, std: visionScale);
        model.logit_scale.fill_(Math.Log(1 / 0.07));
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
