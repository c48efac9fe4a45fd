using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Molyneux.Checkpoints;

/// <summary>The mapping between OpenAI/open_clip state-dict names and Hugging Face <c>CLIPModel</c> names, as
/// transformers' convert_clip_original_pytorch_to_hf.py fills them: OpenAI keeps q, k and v as one in_proj of
/// three row blocks, and stores both projections as [in, out] matrices used as x·P rather than Linear weights.</summary>
public static partial class OpenAiClipNaming
{
    /// <summary>How a HF tensor is obtained from its OpenAI source.</summary>
    public enum Transform { Copy, Transpose, FirstThird, SecondThird, LastThird }

    public sealed record Source(string OpenAiName, Transform Transform);

    /// <summary>Entries some OpenAI checkpoints carry beside the weights (ints, not parameters).</summary>
    public static IReadOnlySet<string> NonParameterEntries { get; } = new HashSet<string> { "input_resolution", "context_length", "vocab_size" };

    public static bool LooksLikeOpenAiNaming(IEnumerable<string> names) =>
        names.Any(name => name is "visual.conv1.weight" or "token_embedding.weight" or "visual.proj");

    private static readonly (string Hf, string OpenAi)[] FixedNames =
    [
        ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding"),
        ("text_model.final_layer_norm.weight", "ln_final.weight"),
        ("text_model.final_layer_norm.bias", "ln_final.bias"),
        ("text_projection.weight", "text_projection"),
        ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"),
        ("vision_model.embeddings.class_embedding", "visual.class_embedding"),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"),
        ("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"),
        ("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"),
        ("vision_model.post_layernorm.weight", "visual.ln_post.weight"),
        ("vision_model.post_layernorm.bias", "visual.ln_post.bias"),
        ("visual_projection.weight", "visual.proj"),
        ("logit_scale", "logit_scale"),
    ];

    private static readonly Dictionary<string, string> LayerParts = new()
    {
        ["self_attn.out_proj"] = "attn.out_proj",
        ["layer_norm1"] = "ln_1",
        ["layer_norm2"] = "ln_2",
        ["mlp.fc1"] = "mlp.c_fc",
        ["mlp.fc2"] = "mlp.c_proj",
    };

    [GeneratedRegex(@"^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex LayerTensor();

    /// <summary>Where the HF tensor <paramref name="hfName"/> comes from in an OpenAI-named state dict, or null when
    /// the name is not part of a CLIP model.</summary>
    public static Source? SourceOf(string hfName)
    {
        foreach (var (hf, openAi) in FixedNames)
            if (hf == hfName)
                return new Source(openAi, hfName.EndsWith("projection.weight", StringComparison.Ordinal) ? Transform.Transpose : Transform.Copy);
        var match = LayerTensor().Match(hfName);
        if (!match.Success) return null;
        var tower = match.Groups[1].Value == "text_model" ? "" : "visual.";
        var (layer, part, kind) = (match.Groups[2].Value, match.Groups[3].Value, match.Groups[4].Value);
        var block = $"{tower}transformer.resblocks.{layer}";
        return part switch
        {
            "self_attn.q_proj" => new Source($"{block}.attn.in_proj_{kind}", Transform.FirstThird),
            "self_attn.k_proj" => new Source($"{block}.attn.in_proj_{kind}", Transform.SecondThird),
            "self_attn.v_proj" => new Source($"{block}.attn.in_proj_{kind}", Transform.LastThird),
            _ when LayerParts.TryGetValue(part, out var openAiPart) => new Source($"{block}.{openAiPart}.{kind}", Transform.Copy),
            _ => null,
        };
    }

    /// <summary>Applies a source's transform to the OpenAI tensor (returns a new tensor).</summary>
    public static Tensor ToHuggingFace(Tensor openAiTensor, Transform transform)
    {
        var third = openAiTensor.shape.Length > 0 ? openAiTensor.shape[0] / 3 : 0;
        return transform switch
        {
            Transform.Copy => openAiTensor.clone(),
            Transform.Transpose => openAiTensor.t().contiguous(),
            Transform.FirstThird => openAiTensor[..(int)third].contiguous(),
            Transform.SecondThird => openAiTensor[(int)third..(int)(2 * third)].contiguous(),
            Transform.LastThird => openAiTensor[(int)(2 * third)..].contiguous(),
            _ => throw new ArgumentOutOfRangeException(nameof(transform)),
        };
    }

    /// <summary>The OpenAI-named state dict of a HF-named one: q, k and v stacked back into in_proj, projections
    /// transposed back. Used to hand a model back to OpenAI/open_clip code.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> FromHuggingFace(IReadOnlyDictionary<string, Tensor> hfTensors)
    {
        var thirds = new Dictionary<string, Tensor?[]>();
        foreach (var (hfName, tensor) in hfTensors)
        {
            var source = SourceOf(hfName) ?? throw new CheckpointException($"tensor '{hfName}' has no OpenAI name");
            switch (source.Transform)
            {
                case Transform.Copy:
                    yield return new(source.OpenAiName, tensor);
                    break;
                case Transform.Transpose:
                    yield return new(source.OpenAiName, tensor.t().contiguous());
                    break;
                default:
                    var parts = thirds.TryGetValue(source.OpenAiName, out var existing) ? existing : thirds[source.OpenAiName] = new Tensor?[3];
                    parts[source.Transform - Transform.FirstThird] = tensor;
                    if (parts.All(p => p is not null))
                    {
                        thirds.Remove(source.OpenAiName);
                        yield return new(source.OpenAiName, cat(parts!, 0));
                    }
                    break;
            }
        }
        if (thirds.Count > 0)
            throw new CheckpointException($"q/k/v projections incomplete for {string.Join(", ", thirds.Keys)}");
    }
}
