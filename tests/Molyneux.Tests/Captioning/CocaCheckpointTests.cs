using System.Text.Json.Nodes;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

public sealed class CocaCheckpointTests
{
    private static readonly string GoldenWeights = CocaGoldenTests.GoldenCoca("model.safetensors.gz");
    private static readonly string GoldenConfig = CocaGoldenTests.GoldenCoca("coca_tiny.json");

    [Fact]
    public void A_saved_model_loads_back_with_identical_outputs_and_names()
    {
        using var folder = new TestPaths.TempFolder();
        using var model = CocaCheckpoint.Load(GoldenWeights, GoldenConfig);
        CocaCheckpoint.Save(model, folder.File("model.safetensors"), folder.File("coca.json"));
        using var reloaded = CocaCheckpoint.Load(folder.Path, folder.File("coca.json"));
        Assert.Equal(model.Config, reloaded.Config);

        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        using var saved = SafetensorsFile.Open(folder.File("model.safetensors"));
        using var original = SafetensorsFile.Open(GoldenWeights);
        Assert.Equal(original.Entries.Keys.Order(StringComparer.Ordinal), saved.Entries.Keys.Order(StringComparer.Ordinal));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (pixels, ids) = (golden.Read("input.pixel_values"), golden.Read("input.input_ids"));
        Assert.True(TensorAssert.Identical(model.GetImageFeatures(pixels), reloaded.GetImageFeatures(pixels)));
        Assert.True(TensorAssert.Identical(model.GetTextFeatures(ids), reloaded.GetTextFeatures(ids)));
        var pairs = golden.Read("input.caption_image_index");
        Assert.True(TensorAssert.Identical(model.forward(pixels.index_select(0, pairs), ids), reloaded.forward(pixels.index_select(0, pairs), ids)));
        Assert.True(TensorAssert.Identical(CaptionGeneration.Generate(model, pixels), CaptionGeneration.Generate(reloaded, pixels)));
    }

    [Fact]
    public void A_config_that_does_not_match_the_weights_is_refused_naming_the_file_and_the_tensor()
    {
        using var folder = new TestPaths.TempFolder();
        var config = JsonNode.Parse(File.ReadAllText(GoldenConfig))!.AsObject();
        config["vision_cfg"]!["patch_size"] = 16;
        File.WriteAllText(folder.File("coca.json"), config.ToJsonString());

        var error = Assert.Throws<CheckpointException>(() => CocaCheckpoint.Load(GoldenWeights, folder.File("coca.json")));
        Assert.Contains(folder.File("coca.json"), error.Message);
        Assert.Contains(GoldenWeights, error.Message);
        Assert.Contains("visual.conv1.weight", error.Message);
        Assert.Contains("visual.positional_embedding", error.Message);
    }

    [Fact]
    public void A_config_with_another_layer_count_is_refused_naming_the_missing_tensors()
    {
        using var folder = new TestPaths.TempFolder();
        var config = JsonNode.Parse(File.ReadAllText(GoldenConfig))!.AsObject();
        config["multimodal_cfg"]!["layers"] = 3;
        File.WriteAllText(folder.File("coca.json"), config.ToJsonString());

        var error = Assert.Throws<CheckpointException>(() => CocaCheckpoint.Load(GoldenWeights, folder.File("coca.json")));
        Assert.Contains("text_decoder.resblocks.2.attn.in_proj_weight", error.Message);
    }

    [Fact]
    public void The_golden_config_reads_with_open_clip_defaults_for_absent_keys()
    {
        var config = CocaConfig.FromFile(GoldenConfig);
        Assert.Equal(64, config.EmbedDim);
        Assert.Equal(2, config.Vision.Heads);
        Assert.Equal(384, config.Vision.MlpWidth);
        Assert.Equal(256, config.Vision.AttnPoolerQueries);
        Assert.Equal(76, config.Text.ContextLength);
        Assert.True(config.Text.EmbedCls);
        Assert.Equal(0, config.Text.PadId);
        Assert.Equal(256, config.Multimodal.MlpWidth);
        Assert.Equal("gelu", config.Activation);
        Assert.Equal(6_919_425, config.ParameterCount);
    }

    [Fact]
    public void A_config_far_larger_than_the_weights_is_refused_before_the_model_is_built()
    {
        using var folder = new TestPaths.TempFolder();
        var config = JsonNode.Parse(File.ReadAllText(GoldenConfig))!.AsObject();
        config["text_cfg"]!["layers"] = 2_000_000_000;
        File.WriteAllText(folder.File("coca.json"), config.ToJsonString());

        var error = Assert.Throws<CheckpointException>(() => CocaCheckpoint.Load(GoldenWeights, folder.File("coca.json")));
        Assert.Contains(folder.File("coca.json"), error.Message);
        Assert.Contains("holds only 6,919,425 values", error.Message);
    }

    [Theory]
    [InlineData("{\"embed_dim\": 64, \"vision_cfg\": {}, \"text_cfg\": {}}", "multimodal_cfg")]
    [InlineData("{\"embed_dim\": 64, \"vision_cfg\": {\"attentional_pool\": \"parallel\"}, \"text_cfg\": {}, \"multimodal_cfg\": {}}", "vision_cfg.attentional_pool")]
    [InlineData("{\"embed_dim\": 64, \"vision_cfg\": {\"width\": \"wide\"}, \"text_cfg\": {}, \"multimodal_cfg\": {}}", "width")]
    [InlineData("{\"embed_dim\": 64, \"vision_cfg\": {\"attentional_pool\": true}, \"text_cfg\": {\"embed_cls\": true}, \"multimodal_cfg\": {}}", "embed_dim")]
    [InlineData("{\"embed_dim\": 512, \"vision_cfg\": {\"attentional_pool\": true}, \"text_cfg\": {}, \"multimodal_cfg\": {}}", "text_cfg.embed_cls")]
    [InlineData("{\"embed_dim\": 512, \"vision_cfg\": {\"attentional_pool\": true, \"ls_init_value\": 0.1}, \"text_cfg\": {\"embed_cls\": true}, \"multimodal_cfg\": {}}", "vision_cfg.ls_init_value")]
    [InlineData("{\"embed_dim\": 512, \"vision_cfg\": ", "not valid JSON")]
    public void A_bad_config_is_refused_naming_the_file_and_the_field(string json, string named)
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("coca.json"), json);
        var error = Assert.Throws<ConfigException>(() => CocaConfig.FromFile(folder.File("coca.json")));
        Assert.Contains(folder.File("coca.json"), error.Message);
        Assert.Contains(named, error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(78)]
    public void A_maximum_caption_length_the_model_cannot_take_is_refused(int maxLength)
    {
        using var model = CocaCheckpoint.Load(GoldenWeights, GoldenConfig);
        using var pixels = zeros(1, 3, 32, 32);
        var error = Assert.Throws<OptionException>(() => CaptionGeneration.Generate(model, pixels, new CaptionOptions { MaxLength = maxLength }));
        Assert.Contains($"{maxLength}", error.Message);
    }
}
