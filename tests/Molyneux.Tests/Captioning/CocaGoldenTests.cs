using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

/// <summary>Parity with open_clip's CoCa on the tiny golden model in ../shared/golden/coca (README there): every stored
/// intermediate and output within 1e-4, every id, mask and greedy caption exactly.</summary>
public sealed class CocaGoldenTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    internal static string GoldenCoca(string relative) => Path.Combine(TestPaths.Golden, "coca", relative);

    internal static CocaModel LoadGolden() => CocaCheckpoint.Load(GoldenCoca("model.safetensors.gz"), GoldenCoca("coca_tiny.json"));

    /// <summary>Stored tensors the parity test does not recompute: the positions and columns at which the stored
    /// logit views were taken (read as inputs), and the generation tensors, which tests of their own check.</summary>
    private static bool IsCheckedElsewhere(string name) =>
        name.StartsWith("input.", StringComparison.Ordinal) || name.StartsWith("generate.", StringComparison.Ordinal)
        || name is "caption_logits.column_ids" or "caption_logits.full_rows_positions";

    [Fact]
    public void Golden_every_output_and_intermediate_matches_the_reference()
    {
        using var model = LoadGolden();
        using var golden = SafetensorsFile.Open(GoldenCoca("golden_io.safetensors"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var computed = ComputeEverything(model, golden);

        var goldenNames = golden.Entries.Keys.Where(name => !IsCheckedElsewhere(name)).ToList();
        Assert.Equal([], goldenNames.Except(computed.Keys));
        var failures = Compare(golden, computed, goldenNames, output);
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    [Fact]
    public void Golden_weights_load_bit_exact_under_their_open_clip_names()
    {
        using var model = LoadGolden();
        using var stored = SafetensorsFile.Open(GoldenCoca("model.safetensors.gz"));
        var parameters = model.named_parameters().ToList();
        Assert.Equal(stored.Entries.Keys.Order(StringComparer.Ordinal), parameters.Select(entry => entry.name).Order(StringComparer.Ordinal));
        foreach (var (name, parameter) in parameters)
        {
            using var expected = stored.Read(name);
            Assert.True(TensorAssert.Identical(expected, parameter.detach()), $"{name} differs");
        }
    }

    public static TheoryData<string, bool, CaptionStopping> GreedyRuns => new()
    {
        { "generate.greedy.ids", false, CaptionStopping.OpenClipMain },
        { "generate.greedy_v3.ids", false, CaptionStopping.OpenClipRelease },
        { "generate.greedy_eos_alt.ids", true, CaptionStopping.OpenClipMain },
        { "generate.greedy_eos_alt_v3.ids", true, CaptionStopping.OpenClipRelease },
    };

    [Theory]
    [MemberData(nameof(GreedyRuns))]
    public void Golden_greedy_captions_are_the_stored_ids(string name, bool alternativeEnd, CaptionStopping stopping)
    {
        using var model = LoadGolden();
        using var golden = SafetensorsFile.Open(GoldenCoca("golden_io.safetensors"));
        using var scope = NewDisposeScope();
        var options = new CaptionOptions { Stopping = stopping };
        if (alternativeEnd) options = options with { EndTokenId = golden.Read("generate.greedy_eos_alt.eos_token_id").item<long>() };
        var ids = CaptionGeneration.Generate(model, golden.Read("input.pixel_values"), options);
        var expected = golden.Read(name);
        Assert.True(TensorAssert.Identical(expected, ids), $"{name}: got {Describe(ids)}, expected {Describe(expected)}");
    }

    [Fact]
    public void Greedy_captions_stop_when_every_row_has_ended()
    {
        using var model = LoadGolden();
        using var golden = SafetensorsFile.Open(GoldenCoca("golden_io.safetensors"));
        using var scope = NewDisposeScope();
        // With the alternative end token, images 1 and 2 end at indices 16 and 5 (README section 6).
        var endsEarly = tensor(new long[] { 1, 2 });
        var options = new CaptionOptions { EndTokenId = golden.Read("generate.greedy_eos_alt.eos_token_id").item<long>() };
        var ids = CaptionGeneration.Generate(model, golden.Read("input.pixel_values").index_select(0, endsEarly), options);
        var expected = golden.Read("generate.greedy_eos_alt.ids").index_select(0, endsEarly);
        Assert.Equal(17, ids.shape[1]);
        Assert.True(TensorAssert.Identical(expected[.., ..17], ids), $"got {Describe(ids)}, expected {Describe(expected)}");
        Assert.True(expected[.., 17..].eq(0).all().item<bool>(), "the stored rows are padding after index 16");
    }

    /// <summary>The per-step tensors, recomputed from the stored prefixes, where the row was still unfinished (the
    /// README: elsewhere they mean nothing).</summary>
    [Theory]
    [InlineData("generate.greedy")]
    [InlineData("generate.greedy_eos_alt")]
    public void Golden_greedy_step_scores_match_where_rows_were_unfinished(string run)
    {
        using var model = LoadGolden();
        using var golden = SafetensorsFile.Open(GoldenCoca("golden_io.safetensors"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var endId = run.EndsWith("eos_alt", StringComparison.Ordinal) ? golden.Read($"{run}.eos_token_id").item<long>() : new CaptionOptions().EndTokenId;
        var ids = golden.Read($"{run}.ids");
        var unfinished = golden.Read($"{run}.step_unfinished");
        var imageTokens = model.GetImageTokens(golden.Read("input.pixel_values"));
        var (logsumexps, topValues, topIds) = (new List<Tensor>(), new List<Tensor>(), new List<Tensor>());
        for (var step = 0; step < ids.shape[1] - 1; step++)
        {
            var logits = model.CaptionLogits(imageTokens, ids[.., ..(step + 1)])[.., -1];
            logsumexps.Add(logits.logsumexp(-1));
            if (step + 1 < new CaptionOptions().MinLength) logits = logits.index_fill(1, tensor(new[] { endId }), float.NegativeInfinity);
            var (values, indices) = logits.topk(2);
            topValues.Add(values);
            topIds.Add(indices);
        }
        var rowsUnfinished = unfinished.to(ScalarType.Bool);
        var failures = Compare(golden, new Dictionary<string, Tensor>
        {
            [$"{run}.step_logits_logsumexp"] = stack(logsumexps, 1),
            [$"{run}.step_top2_values"] = stack(topValues, 1),
            [$"{run}.step_top2_ids"] = stack(topIds, 1),
        }, [$"{run}.step_logits_logsumexp", $"{run}.step_top2_values", $"{run}.step_top2_ids"], output, rowsUnfinished);
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    [Fact]
    public void Golden_captions_tokenize_to_the_stored_input_ids_at_context_length_76()
    {
        using var model = LoadGolden();
        using var golden = SafetensorsFile.Open(GoldenCoca("golden_io.safetensors"));
        var captions = JsonSerializer.Deserialize<string[]>(golden.Metadata["captions"])!;
        using var ids = ClipTokenizer.OpenAiDefault().TokenizeBatch(captions, model.text.ContextLength);
        using var expected = golden.Read("input.input_ids");
        Assert.True(TensorAssert.Identical(expected, ids));
    }

    /// <summary>Floats within the tolerance, integers exactly; with <paramref name="where"/> (bool, the leading
    /// dimensions of each tensor) only there. Each float's largest difference goes to the test output.</summary>
    private static List<string> Compare(SafetensorsFile golden, IReadOnlyDictionary<string, Tensor> computed, IEnumerable<string> names,
        ITestOutputHelper log, Tensor? where = null)
    {
        var failures = new List<string>();
        foreach (var name in names)
        {
            var expected = golden.Read(name);
            var actual = computed[name];
            if (!expected.shape.SequenceEqual(actual.shape))
            {
                failures.Add($"{name}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
                continue;
            }
            if (where is not null) (expected, actual) = (expected[where], actual[where]);
            if (expected.dtype == ScalarType.Int64)
            {
                if (!TensorAssert.Identical(expected, actual.to(ScalarType.Int64))) failures.Add($"{name}: values differ");
            }
            else if (expected.numel() > 0)
            {
                var difference = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
                log.WriteLine($"{name}: max abs diff {difference:E2}");
                if (!(difference <= Tolerance)) failures.Add($"{name}: max abs diff {difference:E2}");
            }
        }
        return failures;
    }

    private static string Describe(Tensor ids) =>
        "[" + string.Join("; ", Enumerable.Range(0, (int)ids.shape[0]).Select(row => string.Join(" ", ids[row].data<long>().ToArray()))) + "]";

    /// <summary>Runs the model piece by piece, naming each result as golden_io.safetensors does.</summary>
    private static Dictionary<string, Tensor> ComputeEverything(CocaModel model, SafetensorsFile golden)
    {
        var pixelValues = golden.Read("input.pixel_values");
        var inputIds = golden.Read("input.input_ids");
        var imageOfCaption = golden.Read("input.caption_image_index");
        var results = new Dictionary<string, Tensor>();

        var vision = model.visual;
        results["vision.patch_embeds"] = vision.PatchEmbeddings(pixelValues);
        results["vision.embeddings"] = vision.Embeddings(pixelValues);
        var visionIn = results["vision.ln_pre_out"] = vision.ln_pre.forward(results["vision.embeddings"]);
        var visionOut = AddBlocks(results, "vision", vision.transformer, visionIn, allowed: null, withActivations: true);
        results["vision.attn_pool.ln_k_out"] = vision.attn_pool.ln_k.forward(visionOut);
        results["vision.attn_pool.ln_q_out"] = vision.attn_pool.ln_q.forward(vision.attn_pool.query);
        results["vision.attn_pool_out"] = vision.attn_pool.forward(visionOut);
        results["vision.ln_post_out"] = vision.ln_post.forward(results["vision.attn_pool_out"]);
        results["vision.pooled"] = results["vision.ln_post_out"][.., 0];
        var imageFeatures = results["image_features"] = model.GetImageFeatures(pixelValues);
        results["image_features_normalized"] = nn.functional.normalize(imageFeatures, dim: -1);
        var imageTokens = results["image_embs"] = model.GetImageTokens(pixelValues);

        var text = model.text;
        var length = inputIds.shape[1];
        results["text.token_embeds"] = text.token_embedding.forward(inputIds);
        results["text.embeddings"] = text.Embeddings(inputIds);
        var allowed = text.AttentionAllowed(inputIds);
        results["text.attn_allowed"] = allowed.to(ScalarType.Int64);
        var textOut = AddBlocks(results, "text", text.transformer, results["text.embeddings"], allowed, withActivations: false);
        results["text.cls_pre_ln_final"] = textOut[.., length];
        results["text.pooled"] = text.ln_final.forward(textOut[.., length]);
        var textFeatures = results["text_features"] = model.GetTextFeatures(inputIds);
        results["text_features_normalized"] = nn.functional.normalize(textFeatures, dim: -1);
        var tokenStates = results["text.token_embs"] = text.forward(inputIds).TokenStates;

        results["logit_scale_exp"] = model.logit_scale.exp();
        results["logits_per_image"] = model.ContrastiveLogits(imageFeatures, textFeatures);
        results["logits_per_text"] = results["logits_per_image"].t();

        var pairedTokens = imageTokens.index_select(0, imageOfCaption);
        AddDecoderLayers(results, model.text_decoder, pairedTokens, tokenStates);
        results["decoder.ln_final_out"] = model.text_decoder.ln_final.forward(results[$"decoder.layer_out.{model.text_decoder.resblocks.Count - 1}.cross"]);
        var logits = model.CaptionLogits(pairedTokens, inputIds);
        var logsumexp = results["caption_logits.logsumexp"] = logits.logsumexp(-1);
        (results["caption_logits.max"], results["caption_logits.argmax"]) = logits.max(-1);
        results["caption_logits.columns"] = logits.index_select(2, golden.Read("caption_logits.column_ids"));
        results["caption_logits.full_rows"] = logits.index_select(1, golden.Read("caption_logits.full_rows_positions"));

        var labels = results["caption_loss.labels"] = inputIds[.., 1..];
        var labelMask = results["caption_loss.label_mask"] = labels.ne(0).to(ScalarType.Int64);
        var targetLogit = results["caption_loss.target_logit"] = logits[.., ..^1].gather(2, labels.unsqueeze(-1)).squeeze(-1);
        results["caption_loss.per_token_nll"] = (logsumexp[.., ..^1] - targetLogit) * labelMask;
        results["pair.logits_per_image"] = model.ContrastiveLogits(imageFeatures.index_select(0, imageOfCaption), textFeatures);
        results["loss.caption_unweighted"] = model.CaptionLoss(logits, inputIds);
        var (caption, contrastive) = model.Losses(pixelValues, inputIds, imageOfCaption);
        results["loss.contrastive_unweighted"] = contrastive;
        results["loss.caption"] = caption * CocaModel.DefaultCaptionLossWeight;
        results["loss.contrastive"] = contrastive * CocaModel.DefaultContrastiveLossWeight;
        results["loss.total"] = model.TotalLoss(pixelValues, inputIds, imageOfCaption);
        return results;
    }

    /// <summary>Block 0's insides and every block's output; returns the last block's.</summary>
    private static Tensor AddBlocks(Dictionary<string, Tensor> results, string tower, OpenClipTransformer transformer, Tensor input, Tensor? allowed, bool withActivations)
    {
        var block = transformer.resblocks[0];
        var ln1 = results[$"{tower}.block0.ln_1_out"] = block.ln_1.forward(input);
        var attention = results[$"{tower}.block0.attn_out"] = block.attn.Forward(ln1, ln1, allowed, causal: false);
        var residual = results[$"{tower}.block0.after_attn_residual"] = input + attention;
        var ln2 = results[$"{tower}.block0.ln_2_out"] = block.ln_2.forward(residual);
        if (withActivations)
        {
            var fc1 = results[$"{tower}.block0.mlp_fc1_out"] = block.mlp.c_fc.forward(ln2);
            results[$"{tower}.block0.mlp_act_out"] = block.mlp.Activation(fc1);
        }
        results[$"{tower}.block0.mlp_out"] = block.mlp.forward(ln2);
        var hidden = input;
        for (var i = 0; i < transformer.resblocks.Count; i++)
            hidden = results[$"{tower}.block_out.{i}"] = transformer.resblocks[i].Forward(hidden, allowed, causal: false);
        return hidden;
    }

    private static void AddDecoderLayers(Dictionary<string, Tensor> results, CocaTextDecoder decoder, Tensor imageTokens, Tensor tokenStates)
    {
        var self = decoder.resblocks[0];
        var selfLn1 = results["decoder.layer0.self.ln_1_out"] = self.ln_1.forward(tokenStates);
        var selfAttention = results["decoder.layer0.self.attn_out"] = self.attn.Forward(selfLn1, selfLn1, allowed: null, causal: true);
        var selfResidual = results["decoder.layer0.self.after_attn_residual"] = tokenStates + selfAttention;
        results["decoder.layer0.self.mlp_out"] = self.mlp.forward(results["decoder.layer0.self.ln_2_out"] = self.ln_2.forward(selfResidual));

        var afterSelf = self.Forward(tokenStates, allowed: null, causal: true);
        var cross = decoder.cross_attn[0];
        var crossLn1 = results["decoder.layer0.cross.ln_1_out"] = cross.ln_1.forward(afterSelf);
        var crossKv = results["decoder.layer0.cross.ln_1_kv_out"] = cross.ln_1_kv!.forward(imageTokens);
        var crossAttention = results["decoder.layer0.cross.attn_out"] = cross.attn.forward(crossLn1, crossKv);
        var crossResidual = results["decoder.layer0.cross.after_attn_residual"] = afterSelf + crossAttention;
        results["decoder.layer0.cross.mlp_out"] = cross.mlp.forward(results["decoder.layer0.cross.ln_2_out"] = cross.ln_2.forward(crossResidual));

        var x = tokenStates;
        for (var i = 0; i < decoder.resblocks.Count; i++)
        {
            x = results[$"decoder.layer_out.{i}.self"] = decoder.resblocks[i].Forward(x, allowed: null, causal: true);
            x = results[$"decoder.layer_out.{i}.cross"] = decoder.cross_attn[i].CrossForward(x, imageTokens);
        }
        Assert.True(TensorAssert.Identical(x, decoder.Layers(imageTokens, tokenStates)), "the decoder's own loop must give the layer outputs");
    }
}
