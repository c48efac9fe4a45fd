using Molyneux.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.Imaging;

public sealed class ClipImageProcessorTests : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static string Fixture(string name) =>
        Path.Combine(TestPaths.RepositoryRoot, "tests", "Molyneux.Tests", "Fixtures", "imaging", name);

    private static float MaxDifference(Tensor a, Tensor b) => a.sub(b).abs().max().ToSingle();

    [Fact]
    public void Imaging_NormalizationMatchesGoldenPixelValues()
    {
        var golden = TestPaths.GoldenClip("model_a/golden_io.safetensors");
        using var unnormalized = ImageTestFiles.ReadF32(golden, "input.pixel_values_unnormalized");
        using var expected = ImageTestFiles.ReadF32(golden, "input.pixel_values");
        var processor = ClipImageProcessor.Default(32);

        using var batch = processor.Normalize(unnormalized);
        Assert.True(MaxDifference(batch, expected) <= 1e-6f);

        for (var i = 0; i < unnormalized.shape[0]; i++)
        {
            using var one = processor.Preprocess(unnormalized[i]);
            Assert.True(MaxDifference(one, expected[i]) <= 1e-6f, $"image {i}");
        }
        using var restored = processor.Denormalize(expected);
        Assert.True(MaxDifference(restored, unnormalized) <= 1e-6f);
    }

    [Theory]
    [InlineData(200, 300, 224, 224, 336)]
    [InlineData(300, 200, 224, 336, 224)]
    [InlineData(480, 640, 224, 224, 298)] // 224 × 640 / 480 = 298.67, truncated like Python's int()
    [InlineData(23, 37, 16, 16, 25)]
    [InlineData(50, 50, 224, 224, 224)]
    [InlineData(5, 7, 12, 12, 16)]
    public void Imaging_ResizedSizeFollowsHuggingFace(int height, int width, int shortestEdge, int expectedHeight, int expectedWidth) =>
        Assert.Equal((expectedHeight, expectedWidth), ClipImageProcessor.ResizedSize(height, width, shortestEdge));

    [Fact]
    public void Imaging_NonSquareImageIsResizedKeepingAspectThenCropped()
    {
        var processor = ClipImageProcessor.Default(224);
        using var landscape = rand(3, 200, 300);
        using var portrait = rand(3, 300, 200);

        using var resized = processor.Resize(landscape);
        using var preprocessed = processor.Preprocess(landscape);
        using var portraitPreprocessed = processor.Preprocess(portrait);

        Assert.Equal(new long[] { 3, 224, 336 }, resized.shape);
        Assert.Equal(new long[] { 3, 224, 224 }, preprocessed.shape);
        Assert.Equal(new long[] { 3, 224, 224 }, portraitPreprocessed.shape);
    }

    [Theory]
    [InlineData(200, 300)] // down
    [InlineData(20, 30)] // up
    public void Imaging_ConstantImageStaysConstantThroughResize(int height, int width)
    {
        var processor = ClipImageProcessor.Default(64);
        var level = 77 / 255f;
        using var image = full(3, height, width, level);

        using var resized = processor.Resize(image);

        Assert.True(MaxDifference(resized, full_like(resized, level)) <= 1e-6f);
    }

    [Theory]
    [InlineData("noise_37x23.png", 16, ClipImageProcessor.ResampleBicubic, "noise_37x23_pil_bicubic_25x16.png")]
    [InlineData("noise_37x23.png", 50, ClipImageProcessor.ResampleBicubic, "noise_37x23_pil_bicubic_80x50.png")]
    [InlineData("noise_37x23.png", 16, ClipImageProcessor.ResampleBilinear, "noise_37x23_pil_bilinear_25x16.png")]
    [InlineData("noise_37x23.png", 16, ClipImageProcessor.ResampleNearest, "noise_37x23_pil_nearest_25x16.png")]
    [InlineData("gradient_7x5.png", 12, ClipImageProcessor.ResampleBicubic, "gradient_7x5_pil_bicubic_16x12.png")]
    public void Imaging_ResizeMatchesPillow(string sourceName, int shortestEdge, int resample, string pillowName)
    {
        var processor = new ClipImageProcessor(shortestEdge: shortestEdge, resample: resample);
        using var source = ImageDecoder.Load(Fixture(sourceName));
        using var pillow = ImageDecoder.Load(Fixture(pillowName));

        using var resized = processor.Resize(source);

        // Noise is the hardest case. Without antialiasing the bicubic downscale is off by up to 101 steps, with
        // torch's a = −0.75 cubic the upscale by 2, and without rounding between the passes by 2.
        Assert.Equal(pillow.shape, resized.shape);
        using var difference = resized.sub(pillow).abs();
        var steps = difference.max().ToSingle() * 255;
        var differing = difference.gt(0.5 / 255).sum().ToInt64();
        Assert.True(steps <= 1.001f && differing <= resized.numel() / 100,
            $"{differing} of {resized.numel()} values differ from Pillow's, by up to {steps} / 255");
    }

    [Fact]
    public void Imaging_ResizedValuesAreClampedAndOnTheByteGrid()
    {
        var processor = ClipImageProcessor.Default(8);
        using var edges = zeros(3, 32, 32);
        edges[TensorIndex.Colon, TensorIndex.Slice(0, 32, 2)] = tensor(1f);

        using var resized = processor.Resize(edges);

        Assert.True(resized.min().ToSingle() >= 0 && resized.max().ToSingle() <= 1);
        using var steps = resized.mul(255);
        Assert.True(MaxDifference(steps, steps.round()) <= 1e-4f);
    }

    [Fact]
    public void Imaging_CenterCropTakesTheMiddle()
    {
        var processor = new ClipImageProcessor(cropHeight: 4, cropWidth: 4);
        using var image = arange(3 * 7 * 10, dtype: ScalarType.Float32).view(3, 7, 10);

        using var cropped = processor.CenterCrop(image);

        // top = (7 − 4) // 2 = 1, left = (10 − 4) // 2 = 3
        Assert.Equal(new long[] { 3, 4, 4 }, cropped.shape);
        Assert.True(MaxDifference(cropped, image.narrow(1, 1, 4).narrow(2, 3, 4)) == 0);
    }

    [Fact]
    public void Imaging_CenterCropPadsASmallImageWithBlack()
    {
        var processor = new ClipImageProcessor(cropHeight: 4, cropWidth: 5);
        using var image = ones(3, 2, 8);

        using var cropped = processor.CenterCrop(image);

        // Rows: 2 of 4, placed at ceil((4 − 2) / 2) = 1. Columns: 8 cropped to 5 from (8 − 5) // 2 = 1.
        Assert.Equal(new long[] { 3, 4, 5 }, cropped.shape);
        Assert.Equal(0f, cropped[TensorIndex.Colon, 0].abs().max().ToSingle());
        Assert.Equal(0f, cropped[TensorIndex.Colon, 3].abs().max().ToSingle());
        Assert.Equal(1f, cropped[TensorIndex.Colon, TensorIndex.Slice(1, 3)].min().ToSingle());
    }

    [Fact]
    public void Imaging_PreprocessNeverAliasesItsInput()
    {
        var processor = new ClipImageProcessor(shortestEdge: 4, cropHeight: 4, cropWidth: 4, doNormalize: false);
        using var image = full(3, 4, 4, 0.25f);

        using var result = processor.Preprocess(image);
        result.fill_(0.75f);

        Assert.Equal(0.25f, image.max().ToSingle());
    }

    [Fact]
    public void Imaging_RescaleSettingsAreHonoured()
    {
        using var image = full(3, 4, 4, 0.5f);
        var raw = new ClipImageProcessor(shortestEdge: 4, cropHeight: 4, cropWidth: 4, doRescale: false, doNormalize: false);
        var halved = new ClipImageProcessor(shortestEdge: 4, cropHeight: 4, cropWidth: 4, rescaleFactor: 0.5 / 255, doNormalize: false);

        using var rawResult = raw.Preprocess(image);
        using var halvedResult = halved.Preprocess(image);

        Assert.Equal(127.5f, rawResult.max().ToSingle(), 4);
        Assert.Equal(0.25f, halvedResult.max().ToSingle(), 6);
    }

    [Fact]
    public void Imaging_PreprocessFilesStacksInOrder()
    {
        var first = folder.File("first.png");
        var second = folder.File("second.png");
        ImageDecoder.SavePng(first, full(3, 40, 60, 0.2f));
        ImageDecoder.SavePng(second, full(3, 90, 30, 0.8f));
        var processor = ClipImageProcessor.Default(32);

        using var batch = processor.PreprocessFiles([first, second]);
        using var expectedSecond = processor.Preprocess(ImageDecoder.Load(second));

        Assert.Equal(new long[] { 2, 3, 32, 32 }, batch.shape);
        Assert.True(MaxDifference(batch[1], expectedSecond) <= 1e-6f);
        Assert.True(batch[0].mean().ToSingle() < batch[1].mean().ToSingle());
        Assert.Equal(new long[] { 0, 3, 32, 32 }, processor.PreprocessFiles([]).shape);
        var error = Assert.Throws<ImageException>(() => processor.PreprocessFiles([first, folder.File("missing.jpg")]));
        Assert.Contains("missing.jpg", error.Message);
    }

    [Fact]
    public void Imaging_ConfigRoundTrips()
    {
        var original = new ClipImageProcessor(
            shortestEdge: 336, cropHeight: 320, cropWidth: 300, doResize: false, doCenterCrop: true, doRescale: true,
            rescaleFactor: 1 / 255.0, doNormalize: false, mean: [0.5, 0.25, 0.125], std: [0.1, 0.2, 0.3], resample: 2);
        var path = folder.File("model/preprocessor_config.json");

        original.Save(path);
        var loaded = ClipImageProcessor.FromFile(path);

        Assert.Equal(original.ShortestEdge, loaded.ShortestEdge);
        Assert.Equal((original.CropHeight, original.CropWidth), (loaded.CropHeight, loaded.CropWidth));
        Assert.Equal((original.DoResize, original.DoCenterCrop, original.DoRescale, original.DoNormalize),
                     (loaded.DoResize, loaded.DoCenterCrop, loaded.DoRescale, loaded.DoNormalize));
        Assert.Equal(original.RescaleFactor, loaded.RescaleFactor);
        Assert.Equal(original.Mean, loaded.Mean);
        Assert.Equal(original.Std, loaded.Std);
        Assert.Equal(original.Resample, loaded.Resample);
        var json = File.ReadAllText(path);
        Assert.Contains("\"image_processor_type\": \"CLIPImageProcessor\"", json);
        Assert.Contains("\"shortest_edge\": 336", json);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Imaging_OldAndNewConfigFormatsParse()
    {
        var old = folder.File("old.json");
        File.WriteAllText(old, """
            {"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
             "feature_extractor_type": "CLIPFeatureExtractor",
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
             "resample": 3, "size": 224}
            """);
        var current = folder.File("new.json");
        File.WriteAllText(current, """
            {"crop_size": {"height": 336, "width": 336}, "do_convert_rgb": true, "do_rescale": true,
             "image_processor_type": "CLIPImageProcessor", "rescale_factor": 0.00392156862745098,
             "size": {"shortest_edge": 336}, "image_mean": 0.5, "image_std": [0.5, 0.5, 0.5]}
            """);

        var fromOld = ClipImageProcessor.FromFile(old);
        var fromNew = ClipImageProcessor.FromFile(current);

        Assert.Equal((224, 224, 224), (fromOld.ShortestEdge, fromOld.CropHeight, fromOld.CropWidth));
        Assert.Equal(ClipImageProcessor.ClipMean, fromOld.Mean);
        Assert.Equal(ClipImageProcessor.ClipStd, fromOld.Std);
        Assert.Equal(3, fromOld.Resample);
        Assert.Equal((336, 336, 336), (fromNew.ShortestEdge, fromNew.CropHeight, fromNew.CropWidth));
        Assert.Equal([0.5, 0.5, 0.5], fromNew.Mean);
        Assert.Equal(1 / 255.0, fromNew.RescaleFactor);
    }

    [Theory]
    [InlineData("""{"size": "big"}""", "size")]
    [InlineData("""{"size": {"shortest_edge": 22.5}}""", "size.shortest_edge")]
    [InlineData("""{"size": {"height": 224, "width": 224}}""", "size")]
    [InlineData("""{"size": 0}""", "size.shortest_edge")]
    [InlineData("""{"crop_size": {"height": 224}}""", "crop_size")]
    [InlineData("""{"crop_size": [224, 224]}""", "crop_size")]
    [InlineData("""{"do_resize": "yes"}""", "do_resize")]
    [InlineData("""{"image_mean": [0.5, 0.5]}""", "image_mean")]
    [InlineData("""{"image_std": [0.5, 0, 0.5]}""", "image_std")]
    [InlineData("""{"image_std": ["a", "b", "c"]}""", "image_std")]
    [InlineData("""{"resample": 1}""", "resample")]
    [InlineData("""{"rescale_factor": "1/255"}""", "rescale_factor")]
    [InlineData("""[224]""", "JSON object")]
    [InlineData("""{"size": 224,""", "JSON")]
    public void Imaging_BadConfigNamesFileAndField(string json, string field)
    {
        var path = folder.File("preprocessor_config.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<ConfigException>(() => ClipImageProcessor.FromFile(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void Imaging_MissingConfigIsAConfigError()
    {
        var path = folder.File("absent/preprocessor_config.json");
        var error = Assert.Throws<ConfigException>(() => ClipImageProcessor.FromFile(path));
        Assert.Contains(path, error.Message);
    }
}
