using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Tests.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Checkpoints;

public sealed class ClipCheckpointTests
{
    private static (Tensor Image, Tensor Text) GoldenFeatures(ClipPipeline clip)
    {
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/golden_io.safetensors"));
        using var _ = no_grad();
        return (clip.Model.GetImageFeatures(golden.Read("input.pixel_values")), clip.Model.GetTextFeatures(golden.Read("input.input_ids")));
    }

    [Fact]
    public void A_saved_huggingface_directory_loads_back_with_identical_outputs()
    {
        using var folder = new TestPaths.TempFolder();
        using var original = ClipGoldenTests.LoadGolden("model_a", "openai");
        var target = folder.File("saved");
        ClipCheckpoint.SaveHuggingFace(original, target);

        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json" })
            Assert.True(File.Exists(Path.Combine(target, file)), $"{file} missing");
        using var reloaded = ClipCheckpoint.Load(target);
        var (image, text) = GoldenFeatures(original);
        var (image2, text2) = GoldenFeatures(reloaded);
        Assert.True(TensorAssert.Identical(image, image2));
        Assert.True(TensorAssert.Identical(text, text2));
        Assert.Equal(original.Model.Config, reloaded.Model.Config);
        Assert.Equal("huggingface", reloaded.Source!.Naming);
    }

    [Fact]
    public void An_openai_named_file_written_from_a_hf_model_loads_back_with_identical_outputs()
    {
        using var folder = new TestPaths.TempFolder();
        using var original = ClipGoldenTests.LoadGolden("model_b", "hf");
        var target = folder.File("openai.safetensors");
        ClipCheckpoint.SaveOpenAi(original.Model, target);
        using (var written = SafetensorsFile.Open(target))
        using (var reference = SafetensorsFile.Open(TestPaths.GoldenClip("model_b/openai/model.safetensors.gz")))
        {
            Assert.Equal(reference.Entries.Keys.Order(), written.Entries.Keys.Order());
            foreach (var name in reference.Entries.Keys)
            {
                using var a = reference.Read(name);
                using var b = written.Read(name);
                Assert.True(TensorAssert.Identical(a, b), $"{name} differs from the reference OpenAI file");
            }
        }
        using var reloaded = ClipCheckpoint.Load(target, new ClipLoadOptions { TextHeads = 6, VisionHeads = 2 });
        Assert.Equal(original.Model.Config, reloaded.Model.Config);
    }

    [Fact]
    public void An_existing_directory_is_not_overwritten_unless_asked()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = ClipGoldenTests.LoadGolden("model_a", "hf");
        var target = folder.File("model");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "x");
        var error = Assert.Throws<OptionException>(() => ClipCheckpoint.SaveHuggingFace(clip, target));
        Assert.Contains("already exists", error.Message);
        Assert.True(File.Exists(Path.Combine(target, "keep.txt")));
        ClipCheckpoint.SaveHuggingFace(clip, target, overwrite: true);
        Assert.False(File.Exists(Path.Combine(target, "keep.txt")));
        Assert.DoesNotContain(Directory.GetDirectories(folder.Path), d => Path.GetFileName(d).StartsWith('.'));
    }

    /// <summary>Writes a copy of golden model A (HF naming) with its tensors edited, plus its config.json.</summary>
    internal static string EditedCopy(TestPaths.TempFolder folder, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
    {
        var directory = folder.File("edited");
        Directory.CreateDirectory(directory);
        File.Copy(TestPaths.GoldenClip("model_a/hf/config.json"), Path.Combine(directory, "config.json"));
        using var source = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/hf/model.safetensors.gz"));
        var tensors = edit(source.Entries.Keys.ToDictionary(name => name, source.Read));
        SafetensorsFile.Write(Path.Combine(directory, "model.safetensors"), tensors);
        return directory;
    }

    [Fact]
    public void Loading_reports_missing_unexpected_and_misshaped_tensors_by_name()
    {
        using var folder = new TestPaths.TempFolder();
        var directory = EditedCopy(folder, tensors =>
        {
            tensors.Remove("vision_model.post_layernorm.bias");
            tensors["extra.weight"] = zeros(2);
            tensors["text_model.final_layer_norm.weight"] = zeros(65);
            return tensors;
        });
        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(directory));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("1 tensor missing: vision_model.post_layernorm.bias", error.Message);
        Assert.Contains("1 tensor unexpected: extra.weight", error.Message);
        Assert.Contains("text_model.final_layer_norm.weight: file [65], model [64]", error.Message);
    }

    [Fact]
    public void Position_ids_buffers_of_older_exports_are_ignored()
    {
        using var folder = new TestPaths.TempFolder();
        var directory = EditedCopy(folder, tensors =>
        {
            tensors["text_model.embeddings.position_ids"] = arange(77).unsqueeze(0);
            tensors["vision_model.embeddings.position_ids"] = arange(17).unsqueeze(0);
            return tensors;
        });
        using var clip = ClipCheckpoint.Load(directory);
        Assert.Equal(64, clip.EmbeddingSize);
    }

    [Fact]
    public void A_folder_with_only_pickle_weights_is_refused_with_a_reason()
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File("config.json"), "{}");
        File.WriteAllBytes(folder.File("pytorch_model.bin"), [0x80, 0x02]);
        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(folder.Path));
        Assert.Contains("never unpickles", error.Message);
        Assert.Contains(folder.Path, error.Message);
    }

    [Fact]
    public void A_missing_path_is_named()
    {
        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load("/nonexistent/model"));
        Assert.Contains("/nonexistent/model: no such file or folder", error.Message);
    }

    [Fact]
    public void Position_embeddings_interpolate_to_another_image_size()
    {
        using var clip = ClipGoldenTests.LoadGolden("model_a", "hf");
        var embeddings = clip.Model.vision_model.embeddings;
        using var original = embeddings.position_embedding.weight!.detach().clone();

        // Same grid: the reshape/permute round trip must give the table back unchanged.
        embeddings.InterpolatePositionEmbeddings(4, 4);
        Assert.True((embeddings.position_embedding.weight!.detach() - original).abs().max().item<float>() < 1e-6);

        clip.Model.ResizeImageInput(64);
        var resized = embeddings.position_embedding.weight!.detach();
        Assert.Equal([65L, 96L], resized.shape);
        Assert.True(TensorAssert.Identical(resized[0], original[0]), "the class token's position embedding must stay");
        Assert.Equal(64, clip.Model.Config.Vision.ImageSize);
        using var _ = no_grad();
        using var features = clip.Model.GetImageFeatures(randn(2, 3, 64, 64));
        Assert.Equal([2L, 64L], features.shape);
        Assert.Contains(clip.Model.named_parameters(), p => p.name == "vision_model.embeddings.position_embedding.weight" && p.parameter.shape[0] == 65);
    }
}
