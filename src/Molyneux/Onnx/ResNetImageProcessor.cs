using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>The preprocessing of ML.NET's DnnImageFeaturizer ResNets, as its ResNetPreprocess.onnx computes it:
/// planar RGB pixel values in 0–255 reordered to BGR, minus a per-pixel mean image ([3, 224, 224], BGR; the Caffe
/// convention the weights were trained with). No scaling to [0, 1] and no division by a standard deviation.
///
/// ML.NET resizes images to 224×224 before that, with its own ResizeImages transform, which Molyneux does not
/// reproduce: <see cref="Preprocess"/> resizes with PIL's bilinear filter straight to 224×224 (no crop, the aspect
/// ratio not kept), the resize the project's other processors use. Images already 224×224 are not resampled.
/// Holds the mean image; dispose it.</summary>
public sealed class ResNetImageProcessor : IImageTowerProcessor
{
    int IImageTowerProcessor.ImageSize => Height;

    Tensor IImageTowerProcessor.Normalize(Tensor pixels) => FromPixelValues(pixels.mul(LiveScalars.ByteMaximum));

    void IImageTowerProcessor.SaveTo(string folder) => Save(folder);

    IImageTowerProcessor IImageTowerProcessor.Copy() => Copy();

    private readonly Tensor meanImage;

    /// <param name="meanImage">[3, H, W] in BGR order, subtracted from 0–255 pixel values.</param>
    public ResNetImageProcessor(Tensor meanImage)
    {
        if (meanImage.dim() != 3 || meanImage.shape[0] != 3 || meanImage.dtype != ScalarType.Float32)
            throw new ArgumentException($"meanImage: expected float32 [3, H, W], got {meanImage.dtype} [{string.Join(", ", meanImage.shape)}]");
        this.meanImage = meanImage.detach().clone();
    }

    public int Height => (int)meanImage.shape[1];

    public int Width => (int)meanImage.shape[2];

    /// <summary>The mean image [3, H, W] in BGR order (a view; the processor owns it).</summary>
    public Tensor MeanImage => meanImage;

    /// <summary>Reads the mean image of a ResNetPreprocess.onnx by its graph: the input split into its three
    /// channels along axis 1, concatenated in reverse (B, G, R), then a Sub of a constant [1, 3, H, W].</summary>
    public static ResNetImageProcessor FromOnnx(OnnxModelFile file)
    {
        var graph = new OnnxGraph(file);
        CheckpointException Unknown(string what) => new($"{file.Source}: not a ResNet preprocessing Molyneux can map: {what}");
        var input = file.Inputs.FirstOrDefault(name => !file.Initializers.ContainsKey(name)) ?? throw Unknown("the graph has no input");
        var split = graph.Next(input, "Split");
        if (split is null || split.Outputs.Count != 3 || Axis(split) != 1)
            throw Unknown($"the input '{input}' is not split into three channels along axis 1");
        var concat = graph.Next(split.Outputs[0], "Concat");
        if (concat is null || Axis(concat) != 1 || !concat.Inputs.SequenceEqual([split.Outputs[2], split.Outputs[1], split.Outputs[0]]))
            throw Unknown("the channels are not concatenated back in reverse order (RGB to BGR) along axis 1");
        var sub = graph.Next(concat.Outputs[0], "Sub");
        if (sub is null || sub.Inputs[0] != concat.Outputs[0] || graph.Constant(sub.Inputs[1]) is not { } mean
            || mean.dim() != 4 || mean.shape[0] != 1 || mean.shape[1] != 3 || mean.dtype != ScalarType.Float32)
            throw Unknown("the BGR channels are not followed by a Sub of a float constant [1, 3, H, W] (the mean image)");
        if (!file.Outputs.Contains(sub.Outputs[0]))
            throw Unknown($"the mean subtraction's output '{sub.Outputs[0]}' is not the graph's output; more steps follow that Molyneux does not know");
        if (mean.shape[2] > ImageDecoder.MaxSide || mean.shape[3] > ImageDecoder.MaxSide)
            throw Unknown($"the mean image is {mean.shape[3]}×{mean.shape[2]} px, over the limit of {ImageDecoder.MaxSide}");
        using var first = mean[0];
        return new ResNetImageProcessor(first);
    }

    /// <summary>Exactly what ResNetPreprocess.onnx computes: planar RGB values in 0–255 [batch, 3, H, W] (or one
    /// image [3, H, W]) to BGR minus the mean image.</summary>
    public Tensor FromPixelValues(Tensor rgb255)
    {
        if (rgb255.dim() is not (3 or 4) || rgb255.shape[^3] != 3 || rgb255.shape[^2] != Height || rgb255.shape[^1] != Width)
            throw new ArgumentException($"pixels: expected [batch, 3, {Height}, {Width}] or [3, {Height}, {Width}], got [{string.Join(", ", rgb255.shape)}]");
        using var scope = NewDisposeScope();
        var mean = meanImage.to(rgb255.device);
        return rgb255.flip(-3).sub(mean).MoveToOuterDisposeScope();
    }

    /// <summary>One decoded image [3, h, w] with RGB in [0, 1] (as <see cref="ImageDecoder"/> gives it) to the
    /// model's input [3, H, W]: resized (PIL bilinear; see the class summary), scaled to 0–255, <see cref="FromPixelValues"/>.</summary>
    public Tensor Preprocess(Tensor image, string source = "image")
    {
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ImageException($"{source}: expected an RGB image [3, H, W], got [{string.Join(", ", image.shape)}]");
        using var scope = NewDisposeScope();
        var resized = ClipImageProcessor.ResizeTo(image, Height, Width, ClipImageProcessor.ResampleBilinear);
        return FromPixelValues(resized.mul(LiveScalars.ByteMaximum)).MoveToOuterDisposeScope();
    }

    /// <summary>Loads and preprocesses files in order into [N, 3, H, W].</summary>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths) =>
        PreprocessFiles(paths, index => ImageDecoder.Decode(paths[index]));

    /// <inheritdoc/>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths, Func<int, DecodedImage> decoded)
    {
        if (paths.Count == 0) return empty(0, 3, Height, Width);
        using var scope = NewDisposeScope();
        var images = paths.Select((path, index) => Preprocess(ImageDecoder.ToTensor(decoded(index)), path)).ToList();
        return stack(images).MoveToOuterDisposeScope();
    }

    /// <summary>An independent processor with the same mean image (the constructor clones it).</summary>
    public ResNetImageProcessor Copy() => new(meanImage);

    /// <summary>The same preprocessing for images of <paramref name="size"/>×<paramref name="size"/> px: the mean image
    /// resized bilinearly (it is a smooth image, close to constant per channel).</summary>
    public ResNetImageProcessor Resized(int size)
    {
        if (size <= 0 || size > ImageDecoder.MaxSide) throw new OptionException($"image size must be 1 to {ImageDecoder.MaxSide} px, got {size}");
        // The constructor clones its argument, so it must run outside the scope that frees the intermediates.
        Tensor resized;
        using (NewDisposeScope())
            resized = nn.functional.interpolate(meanImage.unsqueeze(0), [size, size], mode: InterpolationMode.Bilinear, align_corners: false)[0]
                .contiguous().MoveToOuterDisposeScope();
        using (resized) return new ResNetImageProcessor(resized);
    }

    public const string ConfigFile = ClipImageProcessor.FileName;
    public const string MeanImageFile = "preprocessor_mean_image.safetensors";
    private const string ProcessorType = "CaffeMeanImageProcessor";

    /// <summary>Writes preprocessor_config.json (what to do) and the mean image beside it, which no HF processor field
    /// can hold: resize to the mean image's size (bilinear), RGB to BGR, scale to 0–255, subtract the mean image.</summary>
    public void Save(string folder)
    {
        SafetensorsFile.Write(Path.Combine(folder, MeanImageFile), [new("mean_image_bgr", meanImage.cpu())], new Dictionary<string, string> { ["format"] = "pt" });
        var config = new System.Text.Json.Nodes.JsonObject
        {
            ["image_processor_type"] = ProcessorType,
            ["size"] = new System.Text.Json.Nodes.JsonObject { ["height"] = Height, ["width"] = Width },
            ["resample"] = ClipImageProcessor.ResampleBilinear,
            ["rescale_factor"] = 255,
            ["channel_order"] = "bgr",
            ["mean_image_file"] = MeanImageFile,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    public static ResNetImageProcessor FromFolder(string folder)
    {
        var configPath = Path.Combine(folder, ConfigFile);
        var config = Asif.HfConfigFile.ReadObject(configPath);
        if (config["image_processor_type"]?.ToString() != ProcessorType)
            throw new ConfigException($"{configPath}: image_processor_type is '{config["image_processor_type"]}', expected '{ProcessorType}' (a ResNet's mean-image preprocessing)");
        var meanPath = Path.Combine(folder, MeanImageFile);
        if (!File.Exists(meanPath)) throw new CheckpointException($"{meanPath}: not found; {configPath} needs it");
        using var file = SafetensorsFile.Open(meanPath);
        if (!file.Entries.ContainsKey("mean_image_bgr")) throw new CheckpointException($"{meanPath}: no tensor 'mean_image_bgr'");
        using var mean = file.Read("mean_image_bgr");
        try
        {
            return new ResNetImageProcessor(mean);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{meanPath}: {e.Message}", e);
        }
    }

    public void Dispose() => meanImage.Dispose();

    private static long? Axis(OnnxNode node) => node.Attributes.TryGetValue("axis", out var axis) ? axis.Int : null;
}
