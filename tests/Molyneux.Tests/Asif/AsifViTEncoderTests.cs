using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

/// <summary>The HF ViT image encoder. No reference outputs exist here (no Python in the loop), so the tests use
/// checkpoints they make themselves: random weights saved in HF's layout must load strictly and give the same
/// outputs, and the encoder must have the invariants CLS pooling implies.</summary>
public sealed class AsifViTEncoderTests
{
    internal static readonly ViTConfig Tiny = new(HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 32, ImageSize: 16, PatchSize: 4);

    /// <summary>A ViTModel with random weights saved as a HF folder.</summary>
    internal static ViTModel SaveRandom(string folder, ViTConfig config, int seed = 1)
    {
        var model = RandomWeights.Fill(new ViTModel(config), 0.2, seed);
        Directory.CreateDirectory(folder);
        ViTImageEncoder.Save(model, ViTImageProcessor.Default(config.ImageSize), folder);
        return model;
    }

    internal static string[] WriteImages(TestPaths.TempFolder folder, int count, int size = 16)
    {
        var generator = new Generator(5);
        return Enumerable.Range(0, count).Select(i =>
        {
            var path = folder.File($"image{i}.png");
            ImageDecoder.SavePng(path, rand(3, size, size, generator: generator));
            return path;
        }).ToArray();
    }

    [Fact]
    public void Random_weights_saved_in_HF_layout_load_strictly_and_give_the_same_outputs()
    {
        using var folder = new TestPaths.TempFolder();
        var original = SaveRandom(folder.File("vit"), Tiny);
        using (var file = SafetensorsFile.Open(folder.File("vit/model.safetensors")))
        {
            Assert.Contains("embeddings.cls_token", file.Entries.Keys);
            Assert.Contains("embeddings.patch_embeddings.projection.bias", file.Entries.Keys);
            Assert.Contains("encoder.layer.1.attention.attention.query.weight", file.Entries.Keys);
            Assert.Contains("encoder.layer.1.attention.output.dense.weight", file.Entries.Keys);
            Assert.Contains("encoder.layer.0.intermediate.dense.weight", file.Entries.Keys);
            Assert.Contains("encoder.layer.0.output.dense.bias", file.Entries.Keys);
            Assert.Contains("encoder.layer.0.layernorm_before.weight", file.Entries.Keys);
            Assert.Contains("encoder.layer.0.layernorm_after.bias", file.Entries.Keys);
            Assert.Contains("layernorm.weight", file.Entries.Keys);
        }
        using var encoder = ViTImageEncoder.Load(folder.File("vit"));
        var images = WriteImages(folder, 3);
        using var pixels = encoder.Processor.PreprocessFiles(images);
        using var expected = original.Embed(pixels);
        using var actual = encoder.EncodeImages(images);
        Assert.True(TensorAssert.Identical(expected, actual));
        Assert.Equal([3L, Tiny.HiddenSize], actual.shape);
        Assert.Equal(Molyneux.Checkpoints.SafetensorsWeights.HashContent(folder.File("vit/model.safetensors")), encoder.Identity);
    }

    [Fact]
    public void Cls_pooling_takes_the_final_norm_class_token_and_batch_rows_permute_with_the_inputs()
    {
        using var folder = new TestPaths.TempFolder();
        SaveRandom(folder.File("vit"), Tiny);
        using var encoder = ViTImageEncoder.Load(folder.File("vit"));
        var images = WriteImages(folder, 4);
        using var pixels = encoder.Processor.PreprocessFiles(images);
        using var states = encoder.Model.forward(pixels);
        Assert.Equal([4L, Tiny.NumPatches + 1, Tiny.HiddenSize], states.shape);
        using var pooled = encoder.EncodeImages(images);
        Assert.True((states[.., 0] - pooled).abs().max().item<float>() < 1e-6);

        int[] order = [2, 0, 3, 1];
        using var permuted = encoder.EncodeImages(order.Select(i => images[i]).ToArray());
        using var expected = pooled.index_select(0, tensor(order.Select(i => (long)i).ToArray()));
        Assert.True((permuted - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Loading_reports_missing_unexpected_and_mis_shaped_tensors_by_name_and_ignores_the_pooler()
    {
        using var folder = new TestPaths.TempFolder();
        var model = SaveRandom(folder.File("vit"), Tiny);
        var weights = folder.File("vit/model.safetensors");
        var tensors = model.named_parameters().ToDictionary(entry => ViTNaming.HuggingFaceName(entry.name), entry => entry.parameter.detach());
        tensors.Remove("encoder.layer.1.attention.attention.key.bias");
        tensors["encoder.layer.0.output.dense.weight"] = zeros(3, 3);
        tensors["classifier.weight"] = zeros(2, 16);
        tensors["pooler.dense.weight"] = zeros(16, 16);
        SafetensorsFile.Write(weights, tensors);
        var error = Assert.Throws<CheckpointException>(() => ViTImageEncoder.Load(folder.File("vit")));
        Assert.Contains("missing: encoder.layer.1.attention.attention.key.bias", error.Message);
        Assert.Contains("unexpected: classifier.weight", error.Message);
        Assert.Contains("encoder.layer.0.output.dense.weight: file [3, 3]", error.Message);
        Assert.DoesNotContain("pooler", error.Message);
    }

    [Fact]
    public void The_preprocessor_resizes_to_the_configured_height_and_width_and_normalizes_with_its_mean_and_std()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("preprocessor_config.json"),
            """{"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1.0], "resample": 2, "size": {"height": 8, "width": 12}}""");
        var processor = ViTImageProcessor.FromFile(folder.File("preprocessor_config.json"));
        var path = folder.File("grey.png");
        ImageDecoder.SavePng(path, full(3, 20, 10, 0.75f));
        using var pixels = processor.PreprocessFiles([path]);
        Assert.Equal([1L, 3, 8, 12], pixels.shape);
        // A flat image stays flat when resized; (0.75 - 0.5) / std per channel.
        Assert.Equal(1.0f, pixels[0, 0].mean().item<float>(), 2);
        Assert.Equal(0.5f, pixels[0, 1].mean().item<float>(), 2);
        Assert.Equal(0.25f, pixels[0, 2].mean().item<float>(), 2);

        processor.Save(folder.File("saved.json"));
        var reread = ViTImageProcessor.FromFile(folder.File("saved.json"));
        Assert.Equal((8, 12, 2), (reread.Height, reread.Width, reread.Resample));
    }

    [Fact]
    public void A_config_the_encoder_cannot_run_is_refused_naming_the_field()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("config.json"), """{"model_type": "vit", "hidden_size": 16, "num_attention_heads": 2, "hidden_act": "gelu_new"}""");
        var error = Assert.Throws<ConfigException>(() => ViTConfig.FromFile(folder.File("config.json")));
        Assert.Contains("hidden_act", error.Message);
    }
}
