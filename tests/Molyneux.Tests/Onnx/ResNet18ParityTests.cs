using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Molyneux.Imaging;
using Molyneux.Onnx;
using Molyneux.Worlds;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Molyneux.Tests.Onnx;

/// <summary>The TorchSharp ResNet18 imported from ML.NET's ResNet18.onnx against ONNX Runtime running the same file on
/// the same preprocessed pixels: the pooled features agree within 1e-4 of their largest value (they reach about 13),
/// on drawings, rendered scenes, noise and a constant image; the preprocessing agrees with ResNetPreprocess.onnx.</summary>
public sealed class ResNet18ParityTests(ResNet18Fixture fixture, ITestOutputHelper output) : IClassFixture<ResNet18Fixture>
{
    private const float RelativeTolerance = 1e-4f;
    private const int Side = 224;

    [Fact]
    public void The_import_reads_resnet18_off_the_graph_with_torchvision_names()
    {
        var model = fixture.Encoder.Model;
        // ML.NET's CNTK "ResNet18" has a third block in its last stage (22 convolutions), unlike torchvision's.
        Assert.Equal(new[] { 2, 2, 2, 3 }, model.Config.Layers);
        Assert.Equal(1e-5, model.Config.BatchNormEps, 1e-9);
        Assert.Equal(512, fixture.Encoder.EmbeddingSize);
        Assert.Equal((Side, Side), (fixture.Encoder.Processor.Height, fixture.Encoder.Processor.Width));
        var names = model.named_parameters().Select(entry => entry.name).ToHashSet();
        Assert.Contains("conv1.weight", names);
        Assert.Contains("layer1.1.bn2.bias", names);
        Assert.Contains("layer4.0.downsample.0.weight", names);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", names);
        Assert.Contains("layer2.0.downsample.1.running_var", model.named_buffers().Select(entry => entry.name));
        Assert.Contains("layer4.2.conv2.weight", names);
        // torchvision's ResNet18 without fc (11 176 512), plus the extra block's two 512×512×3×3 convolutions and BatchNorms.
        Assert.Equal(11_176_512 + 2 * (512 * 512 * 9 + 2 * 512), model.parameters().Sum(parameter => parameter.numel()));
    }

    [Fact]
    public void Parameters_are_trainable_and_batch_norms_are_in_eval_mode_after_load()
    {
        var model = fixture.Encoder.Model;
        Assert.All(model.parameters(), parameter => Assert.True(parameter.requires_grad));
        var batchNorms = model.modules().OfType<BatchNorm2d>().ToList();
        Assert.Equal(22, batchNorms.Count);
        Assert.All(batchNorms, batchNorm => Assert.False(batchNorm.training));
        Assert.False(model.training);
    }

    [Fact]
    public void Pooled_features_match_onnx_runtime_on_the_same_pixels()
    {
        var worst = 0f;
        var largest = 0f;
        foreach (var (name, image) in Images())
        {
            using var scope = NewDisposeScope();
            var pixels = fixture.Encoder.Processor.Preprocess(image, name).unsqueeze(0);
            float[] ours;
            using (no_grad())
                ours = fixture.Encoder.Model.forward(pixels).data<float>().ToArray();
            var reference = OnnxRuntimeFeatures(pixels);
            var scale = reference.Max(Math.Abs);
            var difference = MaxDifference(ours, reference);
            output.WriteLine($"{name}: max |Δ| = {difference:E2}, largest feature {scale:F2}, relative {difference / scale:E2}");
            Assert.True(difference <= RelativeTolerance * scale, $"{name}: max |Δ| = {difference}, largest feature {scale}");
            worst = Math.Max(worst, difference / scale);
            largest = Math.Max(largest, scale);
        }
        output.WriteLine($"worst relative difference {worst:E2}; largest feature {largest:F2}");
    }

    [Fact]
    public void The_preprocessing_matches_onnx_runtime_on_the_same_0_to_255_pixels()
    {
        var random = new Random(19);
        var values = new float[3 * Side * Side];
        for (var index = 0; index < values.Length; index++) values[index] = random.Next(256);
        using var pixels = tensor(values, [1, 3, Side, Side]);
        using var ours = fixture.Encoder.Processor.FromPixelValues(pixels);
        var input = NamedOnnxValue.CreateFromTensor(fixture.Preprocess.InputMetadata.Keys.Single(), new DenseTensor<float>(values, [1, 3, Side, Side]));
        using var results = fixture.Preprocess.Run([input]);
        var reference = results[0].AsEnumerable<float>().ToArray();
        var difference = MaxDifference(ours.data<float>().ToArray(), reference);
        output.WriteLine($"preprocessing: max |Δ| = {difference:E2}");
        Assert.Equal(0f, difference);
    }

    [Fact]
    public void An_encoded_batch_runs_channels_last_and_gives_what_the_standard_layout_gives()
    {
        using var scope = NewDisposeScope();
        var model = fixture.Encoder.Model;
        var pixels = stack(Images().Take(3).Select(entry => fixture.Encoder.Processor.Preprocess(entry.Image, entry.Name)).ToList());
        Tensor channelsLast, map;
        using (no_grad())
            (channelsLast, map) = (model.forward(pixels), model.FeatureMap(pixels));
        // Recording gradients (as fine-tuning and inversion do) keeps the standard layout.
        var standard = model.forward(pixels).detach();
        var difference = MaxDifference(channelsLast.data<float>().ToArray(), standard.data<float>().ToArray());
        var largest = standard.abs().max().item<float>();
        output.WriteLine($"channels-last against standard layout: max |Δ| = {difference:E2}, largest feature {largest:F2}");
        Assert.True(difference <= 1e-5f * largest, $"max |Δ| = {difference}, largest feature {largest}");
        Assert.True(map.is_contiguous(), "callers read the map as [batch, C, h, w]");
    }

    [Fact]
    public void A_batch_encodes_as_its_images_one_by_one()
    {
        var images = Images().Select(entry => entry.Image).Take(6).ToList();
        using var batched = fixture.Encoder.EncodeImages(images);
        Assert.Equal(new long[] { images.Count, 512 }, batched.shape);
        var worst = 0f;
        for (var index = 0; index < images.Count; index++)
        {
            using var single = fixture.Encoder.EncodeImages([images[index]]);
            using var row = batched[index];
            var expected = single.data<float>().ToArray();
            worst = Math.Max(worst, MaxDifference(row.data<float>().ToArray(), expected) / expected.Max());
        }
        output.WriteLine($"batch of {images.Count} against one by one: worst relative |Δ| = {worst:E2}");
        Assert.True(worst <= RelativeTolerance, $"relative |Δ| = {worst}");
    }

    [Fact]
    public void Image_files_encode_as_their_decoded_pixels()
    {
        var paths = OpenMojiFiles().Take(2).ToList();
        using var fromFiles = fixture.Encoder.EncodeImages(paths);
        using var fromPixels = fixture.Encoder.EncodeImages(paths.Select(ImageDecoder.Load).ToList());
        Assert.True(fromFiles.allclose(fromPixels, rtol: 0, atol: 1e-5));
        Assert.True(fromFiles.min().item<float>() >= 0, "pooled features follow a ReLU");
    }

    /// <summary>OpenMoji drawings and the docs' examples (64 px and smaller, upsampled), ShapesWorld scenes rendered at
    /// 224 px, uniform noise and a mid-grey image; [3, H, W] in [0, 1].</summary>
    private static IEnumerable<(string Name, Tensor Image)> Images()
    {
        foreach (var path in OpenMojiFiles().Concat(Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "docs/examples"), "*.png").Order()))
            yield return (Path.GetFileName(path), ImageDecoder.Load(path));
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = Side });
        foreach (var sample in world.Generate(2, seed: 19))
            yield return ($"shapes: {sample.Caption}", sample.ToTensor());
        var random = new Random(19);
        yield return ("noise", tensor(Enumerable.Range(0, 3 * Side * Side).Select(_ => random.NextSingle()).ToArray(), [3, Side, Side]));
        yield return ("constant 0.5", full(3, Side, Side, 0.5f));
    }

    private static IEnumerable<string> OpenMojiFiles() =>
        Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "tests/Molyneux.Tests/Fixtures/openmoji"), "*_rsvg_64.png").Order();

    /// <summary>ONNX Runtime's Pooling395_Output_0 for one preprocessed image [1, 3, 224, 224].</summary>
    private float[] OnnxRuntimeFeatures(Tensor pixels)
    {
        var input = NamedOnnxValue.CreateFromTensor("Input247", new DenseTensor<float>(pixels.contiguous().data<float>().ToArray(), [1, 3, Side, Side]));
        using var results = fixture.Model.Run([input], ["Pooling395_Output_0"]);
        return results[0].AsEnumerable<float>().ToArray();
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }
}
