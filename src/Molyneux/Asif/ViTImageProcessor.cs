using System.Text.Json;
using System.Text.Json.Nodes;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>Hugging Face's ViTImageProcessor: resize to a fixed height × width (no crop), rescale to [0, 1],
/// normalize per channel (ViT checkpoints mostly use mean = std = 0.5). Resizing is PIL's, as in CLIP's processor;
/// rescaling and normalization are that processor's with resizing and cropping turned off.</summary>
public sealed class ViTImageProcessor : IImageTowerProcessor
{
    public const string FileName = ClipImageProcessor.FileName;

    int IImageTowerProcessor.ImageSize => Height;

    public Tensor Normalize(Tensor pixels) => this.pixels.Normalize(pixels);

    void IImageTowerProcessor.SaveTo(string folder) => Save(Path.Combine(folder, FileName));

    /// <summary>Immutable: a second pipeline shares it.</summary>
    IImageTowerProcessor IImageTowerProcessor.Copy() => this;

    void IDisposable.Dispose()
    {
    }

    private readonly ClipImageProcessor pixels;

    public ViTImageProcessor(int height, int width, int resample = ClipImageProcessor.ResampleBilinear, bool doResize = true,
        bool doRescale = true, double rescaleFactor = 1 / 255.0, bool doNormalize = true,
        IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null)
    {
        if (height <= 0 || width <= 0 || height > ImageDecoder.MaxSide || width > ImageDecoder.MaxSide)
            throw new ArgumentException($"size: height and width must be from 1 to {ImageDecoder.MaxSide}, got {height}×{width}");
        (Height, Width, Resample, DoResize) = (height, width, resample, doResize);
        pixels = new ClipImageProcessor(doResize: false, doCenterCrop: false, doRescale: doRescale, rescaleFactor: rescaleFactor,
            doNormalize: doNormalize, mean: mean ?? [0.5, 0.5, 0.5], std: std ?? [0.5, 0.5, 0.5], resample: resample);
    }

    public int Height { get; }

    public int Width { get; }

    public int Resample { get; }

    public bool DoResize { get; }

    public static ViTImageProcessor Default(int imageSize) => new(imageSize, imageSize);

    /// <summary>Reads a ViTImageProcessor preprocessor_config.json; missing fields take HF's defaults.</summary>
    public static ViTImageProcessor FromFile(string path)
    {
        var root = HfConfigFile.ReadObject(path);
        T Field<T>(string name, T fallback)
        {
            if (root[name] is null) return fallback;
            try
            {
                return root[name].Deserialize<T>() ?? fallback;
            }
            catch (JsonException e)
            {
                throw new ConfigException($"{path}: {name}: expected {typeof(T).Name}, found {root[name]!.ToJsonString()}", e);
            }
        }
        int Side(JsonNode? node) => node is JsonValue value && value.TryGetValue<int>(out var side)
            ? side
            : throw new ConfigException($"{path}: size: expected an integer or {{\"height\": h, \"width\": w}}, found {root["size"]!.ToJsonString()}");
        var (height, width) = root["size"] switch
        {
            null => (224, 224),
            JsonObject size => (Side(size["height"]), Side(size["width"])),
            var side => (Side(side), Side(side)),
        };
        try
        {
            return new ViTImageProcessor(height, width, Field("resample", ClipImageProcessor.ResampleBilinear), Field("do_resize", true),
                Field("do_rescale", true), Field("rescale_factor", 1 / 255.0), Field("do_normalize", true),
                Field<double[]?>("image_mean", null), Field<double[]?>("image_std", null));
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{path}: {e.Message}", e);
        }
    }

    public void Save(string path)
    {
        var root = new JsonObject
        {
            ["do_normalize"] = pixels.DoNormalize,
            ["do_rescale"] = pixels.DoRescale,
            ["do_resize"] = DoResize,
            ["image_mean"] = new JsonArray([.. pixels.Mean.Select(value => (JsonNode)value)]),
            ["image_processor_type"] = "ViTImageProcessor",
            ["image_std"] = new JsonArray([.. pixels.Std.Select(value => (JsonNode)value)]),
            ["resample"] = Resample,
            ["rescale_factor"] = pixels.RescaleFactor,
            ["size"] = new JsonObject { ["height"] = Height, ["width"] = Width },
        };
        AtomicFile.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Loads and preprocesses files in order into [N, 3, Height, Width].</summary>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths) =>
        PreprocessFiles(paths, index => ImageDecoder.Decode(paths[index]));

    /// <inheritdoc/>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths, Func<int, DecodedImage> decoded)
    {
        if (paths.Count == 0) return empty(0, 3, Height, Width);
        using var scope = NewDisposeScope();
        var images = paths.Select((path, index) =>
        {
            var image = ImageDecoder.ToTensor(decoded(index));
            var resized = DoResize ? ClipImageProcessor.ResizeTo(image, Height, Width, Resample) : image;
            if (resized.shape[1] != Height || resized.shape[2] != Width)
                throw new ImageException($"{path}: {resized.shape[2]}×{resized.shape[1]} px, but the processor does not resize and the model takes {Width}×{Height}");
            return pixels.Preprocess(resized);
        }).ToList();
        return stack(images).MoveToOuterDisposeScope();
    }
}
