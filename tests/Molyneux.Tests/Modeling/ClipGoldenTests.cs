using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Modeling;

/// <summary>Parity with OpenAI's CLIP on the two golden models in ../shared/golden (README there): every stored
/// intermediate and output within 1e-4, from both weight namings.</summary>
public sealed class ClipGoldenTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, string> ModelsAndNamings => new()
    {
        { "model_a", "hf" }, { "model_a", "openai" }, { "model_b", "hf" }, { "model_b", "openai" },
    };

    internal static ClipPipeline LoadGolden(string model, string naming)
    {
        if (naming == "hf") return ClipCheckpoint.Load(TestPaths.GoldenClip($"{model}/hf"));
        using var args = JsonDocument.Parse(File.ReadAllText(TestPaths.GoldenClip($"{model}/openai/clip_args.json")));
        var derived = args.RootElement.GetProperty("derived");
        return ClipCheckpoint.Load(TestPaths.GoldenClip($"{model}/openai/model.safetensors.gz"), new ClipLoadOptions
        {
            TextHeads = derived.GetProperty("text_heads").GetInt32(),
            VisionHeads = derived.GetProperty("vision_heads").GetInt32(),
        });
    }

    [Theory]
    [MemberData(nameof(ModelsAndNamings))]
    public void Golden_every_output_and_intermediate_matches_the_reference(string model, string naming)
    {
        using var clip = LoadGolden(model, naming);
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip($"{model}/golden_io.safetensors"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var computed = ComputeEverything(clip.Model, golden.Read("input.pixel_values"), golden.Read("input.input_ids"));

        var goldenNames = golden.Entries.Keys.Where(name => !name.StartsWith("input.", StringComparison.Ordinal)).ToList();
        Assert.Equal([], goldenNames.Except(computed.Keys));
        var failures = new List<string>();
        foreach (var name in goldenNames)
        {
            var expected = golden.Read(name);
            var actual = computed[name];
            if (!expected.shape.SequenceEqual(actual.shape))
                failures.Add($"{name}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
            else if (expected.dtype == ScalarType.Int64)
            {
                if (!TensorAssert.Identical(expected, actual.to(ScalarType.Int64))) failures.Add($"{name}: ids differ");
            }
            else
            {
                var difference = (actual - expected).abs().max().item<float>();
                if (!(difference <= Tolerance)) failures.Add($"{name}: max abs diff {difference:E2}");
            }
        }
        Assert.True(failures.Count == 0, $"{model}/{naming}: " + string.Join("; ", failures));
    }

    [Theory]
    [MemberData(nameof(ModelsAndNamings))]
    public void Golden_weights_load_bit_exact(string model, string naming)
    {
        using var clip = LoadGolden(model, naming);
        using var stored = SafetensorsFile.Open(naming == "hf"
            ? TestPaths.GoldenClip($"{model}/hf/model.safetensors.gz")
            : TestPaths.GoldenClip($"{model}/openai/model.safetensors.gz"));
        foreach (var (name, parameter) in clip.Model.named_parameters())
        {
            using var scope = NewDisposeScope();
            var source = naming == "hf"
                ? new OpenAiClipNaming.Source(name, OpenAiClipNaming.Transform.Copy)
                : OpenAiClipNaming.SourceOf(name)!;
            var expected = OpenAiClipNaming.ToHuggingFace(stored.Read(source.OpenAiName), source.Transform);
            Assert.True(TensorAssert.Identical(expected, parameter.detach()), $"{name} differs from {source.OpenAiName}");
        }
    }

    [Fact]
    public void Golden_wrong_text_head_count_breaks_parity_and_is_flagged()
    {
        // OpenAI's build_model guesses text heads as width/64 = 1 for model_a; the real count is 4.
        using var guessed = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"));
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/golden_io.safetensors"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Assert.Contains(guessed.Source!.Notes, note => note.Contains("text heads guessed", StringComparison.Ordinal));
        var difference = (guessed.Model.GetTextFeatures(golden.Read("input.input_ids")) - golden.Read("text_features")).abs().max().item<float>();
        Assert.True(difference > 0.1, $"a wrong head count should change text features, max diff {difference}");
    }

    [Theory]
    [InlineData("model_a")]
    [InlineData("model_b")]
    public void Golden_captions_tokenize_to_the_stored_input_ids(string model)
    {
        using var clip = LoadGolden(model, "hf");
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip($"{model}/golden_io.safetensors"));
        var captions = JsonSerializer.Deserialize<string[]>(golden.Metadata["captions"])!;
        using var ids = clip.Tokenizer.TokenizeBatch(captions);
        using var expected = golden.Read("input.input_ids");
        Assert.True(TensorAssert.Identical(expected, ids));
    }

    /// <summary>Runs the model piece by piece, naming each result as golden_io.safetensors does.</summary>
    internal static Dictionary<string, Tensor> ComputeEverything(ClipModel model, Tensor pixelValues, Tensor inputIds)
    {
        var results = new Dictionary<string, Tensor>();
        var vision = model.vision_model;
        results["vision.patch_embeds"] = vision.embeddings.patch_embedding.forward(pixelValues).flatten(2).transpose(1, 2);
        results["vision.embeddings"] = vision.embeddings.forward(pixelValues);
        var hidden = results["vision.ln_pre_out"] = vision.pre_layrnorm.forward(results["vision.embeddings"]);
        AddBlockIntermediates(results, "vision", vision.encoder, hidden, causal: false, withActivations: true);
        var visionOut = results[$"vision.block_out.{vision.encoder.layers.Count - 1}"];
        results["vision.cls_pre_ln_post"] = visionOut[.., 0];
        results["vision.pooled"] = vision.post_layernorm.forward(visionOut[.., 0]);

        var text = model.text_model;
        results["text.token_embeds"] = text.embeddings.token_embedding.forward(inputIds);
        results["text.embeddings"] = text.embeddings.forward(inputIds);
        AddBlockIntermediates(results, "text", text.encoder, results["text.embeddings"], causal: true, withActivations: false);
        var textOut = results[$"text.block_out.{text.encoder.layers.Count - 1}"];
        results["text.ln_final_out"] = text.final_layer_norm.forward(textOut);
        var endOfText = results["text.eot_index"] = text.EndOfTextPositions(inputIds);
        var rows = arange(inputIds.shape[0]);
        results["text.eot_pre_ln_final"] = textOut[rows, endOfText];
        results["text.pooled"] = results["text.ln_final_out"][rows, endOfText];

        var imageFeatures = results["image_features"] = model.GetImageFeatures(pixelValues);
        var textFeatures = results["text_features"] = model.GetTextFeatures(inputIds);
        results["image_features_normalized"] = nn.functional.normalize(imageFeatures, dim: -1);
        results["text_features_normalized"] = nn.functional.normalize(textFeatures, dim: -1);
        results["logit_scale_exp"] = model.logit_scale.exp();
        (results["logits_per_image"], results["logits_per_text"]) = model.forward(pixelValues, inputIds);
        return results;
    }

    private static void AddBlockIntermediates(Dictionary<string, Tensor> results, string tower, ClipEncoder encoder, Tensor input, bool causal, bool withActivations)
    {
        var block = encoder.layers[0];
        var ln1 = results[$"{tower}.block0.ln_1_out"] = block.layer_norm1.forward(input);
        var attention = results[$"{tower}.block0.attn_out"] = block.self_attn.forward(ln1, causal);
        var residual = results[$"{tower}.block0.after_attn_residual"] = input + attention;
        var ln2 = results[$"{tower}.block0.ln_2_out"] = block.layer_norm2.forward(residual);
        if (withActivations)
        {
            var fc1 = results[$"{tower}.block0.mlp_fc1_out"] = block.mlp.fc1.forward(ln2);
            results[$"{tower}.block0.mlp_act_out"] = block.mlp.Activation(fc1);
        }
        results[$"{tower}.block0.mlp_out"] = block.mlp.forward(ln2);
        var hidden = input;
        for (var i = 0; i < encoder.layers.Count; i++)
            hidden = results[$"{tower}.block_out.{i}"] = encoder.layers[i].forward(hidden, causal);
    }
}
