using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

/// <summary>A CoCa is a vision-language model like any other (features, tokenizer, parameter groups, copies, its own
/// folder layout) and a captioner (captioning loss, greedy captions), all on the golden open_clip CoCa.</summary>
public sealed class CocaPipelineTests
{
    private static readonly string[] Texts = ["a large gray ring on a green background", "three red hearts"];

    internal static CocaPipeline LoadGolden() =>
        CocaCheckpoint.LoadPipeline(CocaGoldenTests.GoldenCoca("model.safetensors.gz"), CocaGoldenTests.GoldenCoca("coca_tiny.json"), ComputeDevice.Cpu);

    [Fact]
    public void Features_are_open_clips_encode_image_and_encode_text()
    {
        using var pipeline = LoadGolden();
        var model = pipeline.Model;
        using var pixels = rand([3, 3, 32, 32], generator: new Generator(3));
        using var normalized = pipeline.Normalize(pixels);
        using (no_grad())
        {
            // open_clip's tokenizer for CoCa: OpenAI's BPE to the text context, padded with 0.
            using var ids = Captioner.OpenClipTokenizer(model.Config).TokenizeBatch(Texts, model.text.ContextLength);
            TensorAssert.Close(model.GetTextFeatures(ids), pipeline.EncodeTexts(Texts), 1e-6);
            TensorAssert.Close(model.GetImageFeatures(ClipImageProcessor.Default(32).Normalize(pixels)), pipeline.EncodePixels(normalized), 1e-6);
        }
        var wrongSize = Assert.Throws<ImageException>(() => pipeline.EncodePixels(zeros(1, 3, 16, 16), "small.safetensors"));
        Assert.Equal("small.safetensors: the pixel values are [1, 3, 16, 16]; the model takes [N, 3, 32, 32]", wrongSize.Message);
        Assert.Equal(64, pipeline.EmbeddingSize);
        Assert.Equal(32, pipeline.ImageSize);
        Assert.Equal(76, pipeline.ContextLength);
        Assert.Equal("coca", pipeline.Architecture[0].Value);
    }

    [Fact]
    public void Parameter_groups_cover_every_parameter_once()
    {
        using var pipeline = LoadGolden();
        var grouped = Enum.GetValues<ModelPart>().SelectMany(pipeline.Parameters).ToList();
        var all = pipeline.Module.parameters().ToList();
        Assert.Equal(all.Count, grouped.Count);
        Assert.Equal(all.Count, grouped.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Same(pipeline.Model.visual.proj, Assert.Single(pipeline.Parameters(ModelPart.ImageProjection)));
        Assert.Same(pipeline.Model.text.text_projection, Assert.Single(pipeline.Parameters(ModelPart.TextProjection)));
        Assert.Equal(pipeline.Model.text_decoder.parameters().Count(), pipeline.Parameters(ModelPart.TextDecoder).Count);
    }

    [Fact]
    public void The_captioning_loss_is_the_models_and_reuses_one_pass_of_the_image_tower()
    {
        using var pipeline = LoadGolden();
        using var pixels = pipeline.Normalize(rand([2, 3, 32, 32], generator: new Generator(4)));
        using var ids = pipeline.Tokenize(Texts);
        var (features, loss) = pipeline.ImageFeaturesAndCaptionLoss(pixels, ids);
        var (caption, _) = pipeline.Model.Losses(pixels, ids);
        TensorAssert.Close(caption, loss, 1e-6);
        TensorAssert.Close(pipeline.ImageFeatures(pixels), features, 1e-6);
    }

    [Fact]
    public void Captions_are_the_captioners_greedy_ones()
    {
        using var pipeline = LoadGolden();
        using var pixels = pipeline.Normalize(rand([2, 3, 32, 32], generator: new Generator(5)));
        var expected = pipeline.Captioner.CaptionPixels(pixels, ["a", "b"], pipeline.Captioner.Greedy).Select(caption => caption.Text);
        Assert.Equal(expected, pipeline.Caption(pixels));
    }

    [Fact]
    public void Saved_as_an_open_clip_folder_it_loads_back_as_a_CoCa_through_the_common_loader()
    {
        using var pipeline = LoadGolden();
        using var folder = new TestPaths.TempFolder();
        pipeline.WriteModelFiles(folder.Path);
        Assert.True(File.Exists(Path.Combine(folder.Path, CocaCheckpoint.ConfigFileName)));
        using var loaded = VisionLanguageCheckpoint.Load(folder.Path);
        var coca = Assert.IsType<CocaPipeline>(loaded);
        Assert.Equal(folder.Path, coca.Source!.Path);
        TensorAssert.Close(pipeline.EncodeTexts(Texts), loaded.EncodeTexts(Texts), 0);

        var error = Assert.Throws<OptionException>(() => VisionLanguageCheckpoint.Load(folder.Path, new ClipLoadOptions { ImageSize = 64 }));
        Assert.Contains("--image-size", error.Message);
        Assert.Contains("CLIP checkpoints only", error.Message);
    }

    [Fact]
    public void A_copy_trains_independently()
    {
        using var pipeline = LoadGolden();
        using var copy = pipeline.Copy();
        Assert.IsType<CocaPipeline>(copy);
        Assert.Equal(pipeline.Identity, copy.Identity);
        using (no_grad()) copy.Parameters(ModelPart.TextDecoder)[0].add_(1);
        copy.WeightsChanged();
        Assert.NotEqual(pipeline.Identity, copy.Identity);
        Assert.False(copy.Parameters(ModelPart.TextDecoder)[0].equal(pipeline.Parameters(ModelPart.TextDecoder)[0]).all().item<bool>());
    }
}
