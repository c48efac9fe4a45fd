using System.Text.Json.Nodes;
using Molyneux.Alignment;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Tests.Asif;
using Molyneux.Tests.Modeling;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Tests.Checkpoints;

/// <summary>Dual encoders of other towers than the built-in ResNet18 and MiniLM: CLIP's image and text towers (HF's
/// CLIPVisionModel and CLIPTextModel inside a VisionTextDualEncoderModel) and a HF ViT.</summary>
public sealed class DualEncoderTowersTests
{
    /// <summary>The reference CLIP (model_a of the golden data) saved as a HF CLIPModel folder, so that its towers can
    /// be named as a folder.</summary>
    private static ClipPipeline SaveGoldenClip(string folder)
    {
        var clip = ClipGoldenTests.LoadGolden("model_a", "hf");
        ClipCheckpoint.SaveHuggingFace(clip, folder);
        return clip;
    }

    [Fact]
    public void CLIPs_towers_with_CLIPs_projections_give_the_reference_CLIPs_features_and_save_in_HFs_dual_encoder_layout()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = SaveGoldenClip(folder.File("clip"));
        using var dual = DualEncoderCheckpoint.FromTowers(folder.File("clip"), folder.File("clip"), clip.EmbeddingSize, seed: 0);
        using (no_grad())
        {
            dual.Model.visual_projection.weight!.copy_(clip.Model.visual_projection.weight!);
            dual.Model.text_projection.weight!.copy_(clip.Model.text_projection.weight!);
            dual.Model.logit_scale.copy_(clip.Model.logit_scale);
        }
        dual.WeightsChanged();
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/golden_io.safetensors"));
        using var pixels = golden.Read("input.pixel_values");
        using var ids = golden.Read("input.input_ids");
        using var _ = no_grad();
        TensorAssert.Close(golden.Read("image_features"), dual.ImageFeatures(pixels), 1e-5);
        TensorAssert.Close(golden.Read("text_features"), dual.TextFeatures(ids), 1e-5);
        TensorAssert.Close(golden.Read("logits_per_image"), dual.Model.forward(pixels, ids), 1e-4);
        // The tokenizer is CLIP's: the golden ids are what it gives for the golden texts' ids' own length.
        Assert.Equal(clip.ContextLength, dual.ContextLength);

        DualEncoderCheckpoint.Save(dual, folder.File("dual"));
        var config = JsonNode.Parse(File.ReadAllText(folder.File("dual/config.json")))!.AsObject();
        Assert.Equal("clip_vision_model", config["vision_config"]!["model_type"]!.GetValue<string>());
        Assert.Equal("clip_text_model", config["text_config"]!["model_type"]!.GetValue<string>());
        Assert.Null(config["text_pooling"]);
        Assert.Null(config["vision_pooling"]);
        using (var file = SafetensorsFile.Open(folder.File("dual/model.safetensors")))
        {
            Assert.Contains("vision_model.vision_model.encoder.layers.0.self_attn.q_proj.weight", file.Entries.Keys);
            Assert.Contains("vision_model.vision_model.pre_layrnorm.weight", file.Entries.Keys);
            Assert.Contains("text_model.text_model.embeddings.token_embedding.weight", file.Entries.Keys);
            Assert.Contains("text_model.text_model.final_layer_norm.bias", file.Entries.Keys);
        }
        Assert.True(File.Exists(folder.File("dual/vocab.json")) && File.Exists(folder.File("dual/merges.txt")));
        using var reloaded = VisionLanguageCheckpoint.Load(folder.File("dual"));
        Assert.True(TensorAssert.Identical(dual.ImageFeatures(pixels), reloaded.ImageFeatures(pixels)));
        Assert.True(TensorAssert.Identical(dual.TextFeatures(ids), reloaded.TextFeatures(ids)));
        Assert.Equal(dual.Tokenize(["a red circle"]).data<long>().ToArray(), reloaded.Tokenize(["a red circle"]).data<long>().ToArray());
    }

    [Fact]
    public void A_CLIP_image_tower_cut_after_a_layer_gives_the_same_features_from_its_tokens()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = SaveGoldenClip(folder.File("clip"));
        using var dual = DualEncoderCheckpoint.FromTowers(folder.File("clip"), UnimodalEncoders.MiniLmName, 16, seed: 0);
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/golden_io.safetensors"));
        using var pixels = golden.Read("input.pixel_values");
        using var _ = no_grad();
        var (tokens, grid) = dual.ImageTokensAfter(pixels, 1);
        Assert.Equal(new TokenGrid(1, 4, 4), grid);
        TensorAssert.Close(golden.Read("vision.block_out.0"), tokens, 1e-5);
        TensorAssert.Close(dual.ImageFeatures(pixels), dual.ImageFeaturesFromTokens(tokens, grid, 1), 1e-6);
    }

    [Fact]
    public void A_ViT_tower_pools_its_class_token_saves_under_ViT_names_and_takes_its_own_size_only()
    {
        using var folder = new TestPaths.TempFolder();
        AsifViTEncoderTests.SaveRandom(folder.File("vit"), AsifViTEncoderTests.Tiny);
        var images = AsifViTEncoderTests.WriteImages(folder, 3);
        using var encoder = ViTImageEncoder.Load(folder.File("vit"));
        using var dual = DualEncoderCheckpoint.FromTowers(folder.File("vit"), UnimodalEncoders.MiniLmName, 8, seed: 0);
        using var _ = no_grad();
        using var pixels = encoder.Processor.PreprocessFiles(images);
        TensorAssert.Close(encoder.EncodeImages(images), dual.Model.vision_model.Features(pixels), 1e-6);
        Assert.Equal(AsifViTEncoderTests.Tiny.NumHiddenLayers, dual.SplitLayerCount);

        DualEncoderCheckpoint.Save(dual, folder.File("dual"));
        var config = JsonNode.Parse(File.ReadAllText(folder.File("dual/config.json")))!.AsObject();
        Assert.Equal("vit", config["vision_config"]!["model_type"]!.GetValue<string>());
        Assert.Equal("cls", config["vision_pooling"]!.GetValue<string>());
        Assert.Equal("mean", config["text_pooling"]!.GetValue<string>());
        using (var file = SafetensorsFile.Open(folder.File("dual/model.safetensors")))
            Assert.Contains("vision_model.encoder.layer.1.attention.attention.query.weight", file.Entries.Keys);
        using var reloaded = DualEncoderCheckpoint.Load(folder.File("dual"));
        Assert.True(TensorAssert.Identical(dual.ImageFeatures(pixels), reloaded.ImageFeatures(pixels)));
        var encoded = reloaded.EncodeImages(images);
        TensorAssert.Close(dual.ImageFeatures(pixels), encoded, 1e-6);

        // ASIF reads the folder as an encoder of either modality, and a new dual encoder can take its towers.
        using (var asif = Assert.IsType<DualEncoderPipeline>(UnimodalEncoders.LoadImageEncoder(folder.File("dual"))))
            TensorAssert.Close(encoded, asif.EncodeImages(images), 1e-6);
        using (var again = DualEncoderCheckpoint.FromTowers(folder.File("dual"), folder.File("dual"), 8, seed: 1))
        {
            TensorAssert.Close(dual.Model.vision_model.Features(pixels), again.Model.vision_model.Features(pixels), 1e-6);
            Assert.Equal(dual.Tokenize(["a tiny red square"]).data<long>().ToArray(), again.Tokenize(["a tiny red square"]).data<long>().ToArray());
        }

        var resize = Assert.Throws<OptionException>(() => reloaded.ResizeImageInput(32));
        Assert.Contains("the vit image tower takes 16 px images only", resize.Message);
        config["vision_pooling"] = "pooler";
        File.WriteAllText(folder.File("dual/config.json"), config.ToJsonString());
        Assert.Contains("vision_pooling 'pooler' is not supported", Assert.Throws<ConfigException>(() => DualEncoderCheckpoint.Load(folder.File("dual"))).Message);
    }

    [Fact]
    public void Aligning_a_ViT_with_one_unlocked_layer_trains_that_layer_its_final_norm_and_the_projections()
    {
        using var folder = new TestPaths.TempFolder();
        var config = AsifViTEncoderTests.Tiny with { ImageSize = 32, PatchSize = 8 };
        AsifViTEncoderTests.SaveRandom(folder.File("vit"), config);
        using var dual = DualEncoderCheckpoint.FromTowers(folder.File("vit"), UnimodalEncoders.MiniLmName, 16, seed: 0);
        var vit = (ViTModel)dual.Model.vision_model;
        var below = vit.encoder.layers[0].parameters().Concat(vit.embeddings.parameters()).Select(p => p.detach().clone()).ToList();
        var data = new ShapesPretrainingData(new ShapesWorld(ShapesWorldOptions.Plain with { ImageSize = 32 }), count: 64, seed: 0, probeImagesPerClass: 2);
        var options = new AlignOptions { Train = AlignedParts.Projections | AlignedParts.ImageTower, UnlockedImageStages = 1, BatchSize = 16, Steps = 2, ProbeEvery = 0 };

        var result = new Aligner(options).Run(dual, data);

        Assert.All(vit.encoder.layers[0].parameters().Concat(vit.embeddings.parameters()).Zip(below), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
        var expected = vit.encoder.layers[1].parameters().Concat(vit.layernorm.parameters()).Sum(p => p.numel())
                       + new[] { ModelPart.ImageProjection, ModelPart.TextProjection, ModelPart.Temperature }.SelectMany(dual.Parameters).Sum(p => p.numel());
        Assert.Equal(expected, result.TrainableParameters);
        Assert.Contains("3 unlocked stages asked, but the image tower has 2",
            Assert.Throws<OptionException>(() => new Aligner(options with { UnlockedImageStages = 3 }).Run(dual, data)).Message);
    }
}
