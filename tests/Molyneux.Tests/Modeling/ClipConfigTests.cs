using Molyneux.Modeling;

namespace Molyneux.Tests.Modeling;

public sealed class ClipConfigTests
{
    [Fact]
    public void The_golden_hf_config_reads_every_field()
    {
        var config = ClipConfig.FromFile(TestPaths.GoldenClip("model_a/hf/config.json"));
        Assert.Equal(new ClipTextConfig(49408, 64, 256, 4, 2, 77, "quick_gelu", 1e-5, 0, 2, 1), config.Text);
        Assert.Equal(new ClipVisionConfig(96, 384, 1, 2, 32, 8, 3, "quick_gelu", 1e-5), config.Vision);
        Assert.Equal(64, config.ProjectionDim);
        Assert.True(config.Text.PoolsAtArgmax);
    }

    [Fact]
    public void A_saved_config_reads_back_equal()
    {
        using var folder = new TestPaths.TempFolder();
        var config = ClipConfig.Preset("ViT-L-14-336");
        config.Save(folder.File("config.json"));
        Assert.Equal(config, ClipConfig.FromFile(folder.File("config.json")));
        Assert.Equal(336, config.Vision.ImageSize);
        Assert.Equal(24, config.Vision.GridSize);
    }

    [Fact]
    public void Open_clip_configs_derive_vision_heads_from_head_width()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("ViT-B-16.json"), """
            { "embed_dim": 512, "quick_gelu": true,
              "vision_cfg": { "image_size": 224, "layers": 12, "width": 768, "patch_size": 16 },
              "text_cfg": { "context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12 } }
            """);
        Assert.Equal(ClipConfig.Preset("ViT-B-16"), ClipConfig.FromFile(folder.File("ViT-B-16.json")));
    }

    [Theory]
    [InlineData("""{"vision_config": {}}""", "missing field 'text_config'")]
    [InlineData("""{"text_config": {"hidden_size": "wide"}, "vision_config": {}}""", "field 'text_config.hidden_size' must be an integer")]
    [InlineData("""{"text_config": {"num_attention_heads": 7}, "vision_config": {}}""", "text_config.num_attention_heads (7) must divide hidden_size (512)")]
    [InlineData("""{"text_config": {}, "vision_config": {"image_size": 225}}""", "vision_config.image_size (225) must be a multiple of patch_size (32)")]
    [InlineData("""{"text_config": {"hidden_act": "relu"}, "vision_config": {}}""", "text_config.hidden_act 'relu' is not supported")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    [InlineData("""{"text_config": """, "not valid JSON")]
    public void Bad_configs_name_the_file_and_the_field(string json, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("config.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<ConfigException>(() => ClipConfig.FromFile(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("molyneux-micro")]
    [InlineData("molyneux-tiny")]
    [InlineData("golden")]
    public void Parameter_count_from_the_sizes_matches_the_built_model(string name)
    {
        var config = name == "golden" ? ClipConfig.FromFile(TestPaths.GoldenClip("model_a/hf/config.json")) : ClipConfig.Preset(name);
        using var model = new ClipModel(config);
        Assert.Equal(model.CountParameters(), config.ParameterCount);
    }

    [Fact]
    public void Flop_counts_match_a_hand_count_for_a_tiny_model()
    {
        var config = new ClipConfig(new ClipTextConfig(VocabSize: 10, HiddenSize: 4, IntermediateSize: 8, NumAttentionHeads: 1, NumHiddenLayers: 1, MaxPositionEmbeddings: 3),
            new ClipVisionConfig(HiddenSize: 4, IntermediateSize: 8, NumAttentionHeads: 1, NumHiddenLayers: 1, ImageSize: 4, PatchSize: 2), ProjectionDim: 2);
        // Vision: 4 patches of 3·2·2 inputs to width 4: 2·4·12·4 = 384; 5 tokens: projections 8·5·16 = 640,
        // attention 4·25·4 = 400, MLP 4·5·4·8 = 640; projection 2·4·2 = 16.
        Assert.Equal(384 + 640 + 400 + 640 + 16, ClipFlops.ImageEncoding(config));
        // Text: 3 tokens: 8·3·16 = 384, 4·9·4 = 144, 4·3·4·8 = 384; projection 16.
        Assert.Equal(384 + 144 + 384 + 16, ClipFlops.TextEncoding(config));
        // Backward to the pixels: the layer's activation gradients (its four weight products again, 640 + 640, and
        // attention's four products, 2·400), the projection's input gradient (16) and the patch embedding's (384).
        Assert.Equal(640 + 640 + 800 + 16 + 384, ClipFlops.ImageEncodingBackward(config, toPixels: true, toWeights: false));
        // Backward to the weights: the same activation gradients without the pixels', then every weight's gradient:
        // the layer's products (640 + 640), the patch embedding (384) and the projection (16).
        Assert.Equal(640 + 640 + 800 + 16 + 640 + 640 + 384 + 16, ClipFlops.ImageEncodingBackward(config, toPixels: false, toWeights: true));
        Assert.Equal(2 * 3 * (2080 + 2480), ClipFlops.InversionStep(config, images: 2, augmentedCopies: 3));
        Assert.Equal(4 * (2080 + 3776), ClipFlops.FineTuneImageStep(config, batch: 4));
    }
}
