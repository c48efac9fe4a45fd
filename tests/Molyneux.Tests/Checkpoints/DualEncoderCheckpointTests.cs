using System.Text.Json.Nodes;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Onnx;
using static TorchSharp.torch;

namespace Molyneux.Tests.Checkpoints;

/// <summary>The built-in ResNet18 + MiniLM dual encoder, saved once in the HF VisionTextDualEncoderModel layout.</summary>
public sealed class SavedDualEncoderFixture : IDisposable
{
    public SavedDualEncoderFixture()
    {
        Model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 3);
        DualEncoderCheckpoint.Save(Model, Folder.File("dual"));
    }

    private TestPaths.TempFolder Folder { get; } = new();

    public string Path => Folder.File("dual");

    public DualEncoderPipeline Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Folder.Dispose();
    }
}

public sealed class DualEncoderCheckpointTests(SavedDualEncoderFixture saved) : IClassFixture<SavedDualEncoderFixture>
{
    private static readonly string[] Texts = ["a red heart", "", "grinning face with big eyes", "hot dog, a sausage in a bun"];

    private static Tensor Pixels(int count, int seed) => rand([count, 3, 224, 224], generator: new Generator((ulong)seed));

    [Fact]
    public void A_saved_dual_encoder_reloads_with_identical_features_and_the_files_hash_as_identity()
    {
        using var loaded = VisionLanguageCheckpoint.Load(saved.Path);
        Assert.IsType<DualEncoderPipeline>(loaded);
        using var pixels = Pixels(2, 1);
        using var expectedImages = saved.Model.EncodePixels(saved.Model.Normalize(pixels));
        using var actualImages = loaded.EncodePixels(loaded.Normalize(pixels));
        TensorAssert.Close(expectedImages, actualImages, 0);
        using var expectedTexts = saved.Model.EncodeTexts(Texts);
        using var actualTexts = loaded.EncodeTexts(Texts);
        TensorAssert.Close(expectedTexts, actualTexts, 0);
        Assert.Equal(saved.Model.Identity.Length, loaded.Identity.Length);
        Assert.NotEqual(saved.Model.Identity, loaded.Identity);  // the parameters' hash before saving, the file's after
        using var again = VisionLanguageCheckpoint.Load(saved.Path);
        Assert.Equal(loaded.Identity, again.Identity);
        Assert.Equal(saved.Model.LogitScale.item<float>(), loaded.LogitScale.item<float>());
    }

    [Fact]
    public void The_config_and_tensor_names_follow_the_Hugging_Face_layout()
    {
        var config = JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(saved.Path, "config.json")))!.AsObject();
        Assert.Equal("vision_text_dual_encoder", config["model_type"]!.GetValue<string>());
        Assert.Equal("VisionTextDualEncoderModel", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(32, config["projection_dim"]!.GetValue<int>());
        Assert.Equal("resnet", config["vision_config"]!["model_type"]!.GetValue<string>());
        Assert.Equal([2, 2, 2, 3], config["vision_config"]!["depths"]!.AsArray().Select(depth => depth!.GetValue<int>()));
        Assert.Equal("bert", config["text_config"]!["model_type"]!.GetValue<string>());
        Assert.Equal(384, config["text_config"]!["hidden_size"]!.GetValue<int>());

        using var file = SafetensorsFile.Open(System.IO.Path.Combine(saved.Path, "model.safetensors"));
        foreach (var name in new[]
                 {
                     "logit_scale", "visual_projection.weight", "text_projection.weight",
                     "vision_model.embedder.embedder.convolution.weight", "vision_model.embedder.embedder.normalization.running_var",
                     "vision_model.encoder.stages.0.layers.0.layer.0.convolution.weight",
                     "vision_model.encoder.stages.3.layers.0.shortcut.convolution.weight",
                     "vision_model.encoder.stages.3.layers.2.layer.1.normalization.running_mean",
                     "text_model.embeddings.word_embeddings.weight", "text_model.encoder.layer.5.attention.self.query.weight",
                     "text_model.encoder.layer.5.output.LayerNorm.bias",
                 })
            Assert.Contains(name, file.Entries.Keys);
        Assert.DoesNotContain(file.Entries.Keys, name => name.Contains("layer4") || name.Contains("self_attn") || name.Contains("downsample"));
        Assert.Equal([32, 512], file.Entries["visual_projection.weight"].Shape);
        Assert.Equal([32, 384], file.Entries["text_projection.weight"].Shape);
    }

    [Fact]
    public void The_reloaded_towers_are_the_pretrained_ResNet18_and_MiniLM()
    {
        using var loaded = DualEncoderCheckpoint.Load(saved.Path);
        using var resnet = ResNet18ImageNet.Load();
        using var minilm = MiniLm.Load();
        using var pixels = Pixels(2, 2);
        using var _ = no_grad();
        using var expected = resnet.Model.forward(resnet.Processor.FromPixelValues(pixels * 255));
        using var actual = loaded.Model.vision_model.Features(loaded.Normalize(pixels));
        TensorAssert.Close(expected, actual, 1e-5);
        using var expectedTexts = minilm.EncodeTexts(Texts);
        using var actualTexts = loaded.Model.text_model.Pool(loaded.Tokenize(Texts));
        TensorAssert.Close(expectedTexts, actualTexts, 1e-6);
    }

    [Fact]
    public void Projections_are_seeded()
    {
        using var again = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 3);
        Assert.True(again.Model.visual_projection.weight!.equal(saved.Model.Model.visual_projection.weight!).all().item<bool>());
        Assert.True(again.Model.text_projection.weight!.equal(saved.Model.Model.text_projection.weight!).all().item<bool>());
    }

    [Theory]
    [InlineData(512)]
    [InlineData(32)]
    public void The_fresh_text_projection_keeps_MiniLMs_cosines_when_it_widens_and_is_orthonormal_when_it_narrows(int width)
    {
        using var scope = NewDisposeScope();
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: width, seed: 1);
        var weight = model.Model.text_projection.weight!.detach();
        var gram = width >= 384 ? weight.t().matmul(weight) : weight.matmul(weight.t());
        TensorAssert.Close(eye(Math.Min(width, 384)), gram, 1e-5);
        if (width < 384) return;
        var pooled = nn.functional.normalize(model.Model.text_model.Pool(model.Tokenize(Texts)), dim: -1);
        var projected = nn.functional.normalize(model.Model.text_projection.forward(pooled), dim: -1);
        TensorAssert.Close(pooled.matmul(pooled.t()), projected.matmul(projected.t()), 1e-5);
    }

    [Fact]
    public void Projections_saved_alone_turn_fresh_towers_into_the_saved_model()
    {
        using var folder = new TestPaths.TempFolder();
        using var scope = NewDisposeScope();
        var file = folder.File(DualEncoderCheckpoint.ProjectionsFile);
        using var source = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 5);
        using (no_grad()) source.LogitScale.fill_(2.5f);
        DualEncoderCheckpoint.SaveProjections(source, file);
        Assert.True(new FileInfo(file).Length < 150_000);  // two 32-wide projections (114 KB); the towers would be 130 MB
        using var rebuilt = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 4);
        Assert.False(rebuilt.Model.visual_projection.weight!.equal(source.Model.visual_projection.weight!).all().item<bool>());
        DualEncoderCheckpoint.LoadProjections(rebuilt, file);
        var pixels = Pixels(2, 2);
        TensorAssert.Close(source.EncodePixels(source.Normalize(pixels)), rebuilt.EncodePixels(rebuilt.Normalize(pixels)), 0);
        TensorAssert.Close(source.EncodeTexts(Texts), rebuilt.EncodeTexts(Texts), 0);
        Assert.Equal(2.5f, rebuilt.LogitScale.item<float>());
    }

    [Fact]
    public void Projections_of_another_width_are_refused_naming_the_file_and_the_tensor()
    {
        using var folder = new TestPaths.TempFolder();
        var file = folder.File(DualEncoderCheckpoint.ProjectionsFile);
        DualEncoderCheckpoint.SaveProjections(saved.Model, file);
        using var wider = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 48, seed: 3);
        var error = Assert.Throws<CheckpointException>(() => DualEncoderCheckpoint.LoadProjections(wider, file));
        Assert.Contains(file, error.Message);
        Assert.Contains("'visual_projection.weight' is [32, 512] but the model's is [48, 512]", error.Message);
    }

    [Theory]
    [InlineData("conv1.weight", "embedder.embedder.convolution.weight")]
    [InlineData("bn1.num_batches_tracked", "embedder.embedder.normalization.num_batches_tracked")]
    [InlineData("layer1.1.conv2.weight", "encoder.stages.0.layers.1.layer.1.convolution.weight")]
    [InlineData("layer2.0.downsample.1.running_mean", "encoder.stages.1.layers.0.shortcut.normalization.running_mean")]
    [InlineData("layer4.2.bn1.bias", "encoder.stages.3.layers.2.layer.0.normalization.bias")]
    public void ResNet_names_map_to_Hugging_Face_ResNet_names(string torchvision, string huggingFace) =>
        Assert.Equal(huggingFace, ResNetNaming.HuggingFaceName(torchvision));

    [Fact]
    public void A_vision_tower_Molyneux_cannot_build_is_refused_naming_the_config()
    {
        using var copy = CopyOfSaved();
        var configPath = System.IO.Path.Combine(copy.Path, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["vision_config"]!["model_type"] = "swin";
        File.WriteAllText(configPath, config.ToJsonString());
        var error = Assert.Throws<ConfigException>(() => VisionLanguageCheckpoint.Load(copy.Path));
        Assert.Contains(configPath, error.Message);
        Assert.Contains("'swin'", error.Message);
        Assert.Contains("'resnet', 'vit' or 'clip_vision_model'", error.Message);
    }

    [Fact]
    public void A_missing_tensor_and_a_missing_mean_image_are_named()
    {
        using var copy = CopyOfSaved();
        var weights = System.IO.Path.Combine(copy.Path, "model.safetensors");
        using (var file = SafetensorsFile.Open(weights))
        {
            var kept = file.Entries.Keys.Where(name => name != "text_projection.weight").Select(name => new KeyValuePair<string, Tensor>(name, file.Read(name))).ToList();
            SafetensorsFile.Write(weights + ".tmp", kept);
        }
        File.Move(weights + ".tmp", weights, overwrite: true);
        var error = Assert.Throws<CheckpointException>(() => DualEncoderCheckpoint.Load(copy.Path));
        Assert.Contains(weights, error.Message);
        Assert.Contains("text_projection.weight", error.Message);

        File.Delete(System.IO.Path.Combine(copy.Path, ResNetImageProcessor.MeanImageFile));
        var missing = Assert.Throws<CheckpointException>(() => DualEncoderCheckpoint.Load(copy.Path));
        Assert.Contains(ResNetImageProcessor.MeanImageFile, missing.Message);
    }

    [Fact]
    public void CLIP_only_options_are_refused_for_a_dual_encoder()
    {
        var error = Assert.Throws<OptionException>(() => VisionLanguageCheckpoint.Load(saved.Path, new ClipLoadOptions { TextHeads = 8 }));
        Assert.Contains("--text-heads", error.Message);
    }

    private TestPaths.TempFolder CopyOfSaved()
    {
        var copy = new TestPaths.TempFolder();
        foreach (var file in Directory.GetFiles(saved.Path)) File.Copy(file, System.IO.Path.Combine(copy.Path, System.IO.Path.GetFileName(file)));
        return copy;
    }
}
