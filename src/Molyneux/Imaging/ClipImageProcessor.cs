using System.Text.Json;
using System.Text.Unicode;
using Molyneux.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.Imaging;

/// <summary>CLIP's image preprocessing, mirroring Hugging Face's <c>CLIPImageProcessor</c> and its
/// preprocessor_config.json: resize the shortest side, center crop, rescale, normalize. Images come in as
/// [3, H, W] in [0, 1] (see <see cref="ImageDecoder"/>), so HF's division by 255 is already done; the rescale
/// settings are kept so that a configuration round-trips and an unusual rescale factor is still honoured.</summary>
public sealed class ClipImageProcessor : IImageTowerProcessor
{
    /// <summary>The file HF's image processors are saved as in a model folder.</summary>
    public const string FileName = "preprocessor_config.json";

    int IImageTowerProcessor.ImageSize => CropHeight;

    void IImageTowerProcessor.SaveTo(string folder) => Save(Path.Combine(folder, FileName));

    /// <summary>Immutable: a second pipeline shares it.</summary>
    IImageTowerProcessor IImageTowerProcessor.Copy() => this;

    void IDisposable.Dispose()
    {
    }

    public static readonly IReadOnlyList<double> ClipMean = [0.48145466, 0.4578275, 0.40821073];
    public static readonly IReadOnlyList<double> ClipStd = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>PIL's resampling filter numbers, as stored in the configuration's <c>resample</c>.</summary>
    public const int ResampleNearest = 0, ResampleBilinear = 2, ResampleBicubic = 3;

    public int ShortestEdge { get; }
    public int CropHeight { get; }
    public int CropWidth { get; }
    public bool DoResize { get; }
    public bool DoCenterCrop { get; }
    public bool DoRescale { get; }
    public double RescaleFactor { get; }
    public bool DoNormalize { get; }
    public IReadOnlyList<double> Mean { get; }
    public IReadOnlyList<double> Std { get; }
    public int Resample { get; }

    /// <summary>HF's defaults unless given; an invalid value throws <see cref="ArgumentException"/> naming its
    /// preprocessor_config.json field.</summary>
    public ClipImageProcessor(
        int shortestEdge = 224, int cropHeight = 224, int cropWidth = 224,
        bool doResize = true, bool doCenterCrop = true, bool doRescale = true, double rescaleFactor = 1 / 255.0,
        bool doNormalize = true, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null,
        int resample = ResampleBicubic)
        : this((field, problem) => new ArgumentException($"{field}: {problem}"), shortestEdge, cropHeight, cropWidth,
               doResize, doCenterCrop, doRescale, rescaleFactor, doNormalize, mean ?? ClipMean, std ?? ClipStd, resample)
    {
    }

    private ClipImageProcessor(
        Func<string, string, Exception> invalid, int shortestEdge, int cropHeight, int cropWidth,
        bool doResize, bool doCenterCrop, bool doRescale, double rescaleFactor,
        bool doNormalize, IReadOnlyList<double> mean, IReadOnlyList<double> std, int resample)
    {
        RequireSide(invalid, "size.shortest_edge", shortestEdge);
        RequireSide(invalid, "crop_size.height", cropHeight);
        RequireSide(invalid, "crop_size.width", cropWidth);
        if (!double.IsFinite(rescaleFactor) || rescaleFactor <= 0)
            throw invalid("rescale_factor", $"must be a positive number, got {rescaleFactor}");
        if (mean.Count != 3 || mean.Any(m => !double.IsFinite(m)))
            throw invalid("image_mean", $"must be 3 finite numbers (R, G, B), got [{string.Join(", ", mean)}]");
        if (std.Count != 3 || std.Any(s => !double.IsFinite(s) || s <= 0))
            throw invalid("image_std", $"must be 3 positive numbers (R, G, B), got [{string.Join(", ", std)}]");
        if (resample is not (ResampleNearest or ResampleBilinear or ResampleBicubic))
            throw invalid("resample", $"PIL filter {resample} is not supported; use 0 (nearest), 2 (bilinear) or 3 (bicubic)");

        (ShortestEdge, CropHeight, CropWidth) = (shortestEdge, cropHeight, cropWidth);
        (DoResize, DoCenterCrop, DoRescale, RescaleFactor, DoNormalize) = (doResize, doCenterCrop, doRescale, rescaleFactor, doNormalize);
        (Mean, Std, Resample) = ([.. mean], [.. std], resample);
    }

    /// <summary>CLIP's defaults for a model whose vision tower takes <paramref name="imageSize"/> square inputs.</summary>
    public static ClipImageProcessor Default(int imageSize) =>
        new(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize);

    /// <summary>The same preprocessing for a model whose position embeddings were interpolated to another size.</summary>
    public ClipImageProcessor WithImageSize(int imageSize) =>
        new(imageSize, imageSize, imageSize, DoResize, DoCenterCrop, DoRescale, RescaleFactor, DoNormalize, Mean, Std, Resample);

    /// <summary>Reads a preprocessor_config.json. Both HF layouts are accepted: the old <c>"size": 224,
    /// "crop_size": 224</c> and the newer <c>{"shortest_edge": 224}</c> / <c>{"height": 224, "width": 224}</c>.
    /// Missing fields take HF's defaults; fields this class does not use are ignored.</summary>
    public static ClipImageProcessor FromFile(string path)
    {
        JsonDocument document;
        try
        {
            var bytes = File.ReadAllBytes(path);
            // The parser checks the UTF-8 of a string only when it is read, which would fail outside this try.
            if (!Utf8.IsValid(bytes))
                throw new ConfigException($"{path}: not valid UTF-8");
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"{path}: preprocessor configuration not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read the preprocessor configuration: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{path}: not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ConfigException($"{path}: expected a JSON object, found {root.ValueKind}");
            var reader = new ConfigReader(path, root);
            var (cropHeight, cropWidth) = reader.CropSize();
            return new ClipImageProcessor(
                (field, problem) => new ConfigException($"{path}: {field}: {problem}"),
                shortestEdge: reader.ShortestEdge(),
                cropHeight: cropHeight,
                cropWidth: cropWidth,
                doResize: reader.Bool("do_resize", true),
                doCenterCrop: reader.Bool("do_center_crop", true),
                doRescale: reader.Bool("do_rescale", true),
                rescaleFactor: reader.Number("rescale_factor", 1 / 255.0),
                doNormalize: reader.Bool("do_normalize", true),
                mean: reader.Channels("image_mean", ClipMean),
                std: reader.Channels("image_std", ClipStd),
                resample: reader.Int("resample", ResampleBicubic));
        }
    }

    /// <summary>Writes preprocessor_config.json in HF's current layout (keys sorted, as HF writes them), atomically.</summary>
    public void Save(string path) =>
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteStartObject("crop_size");
            json.WriteNumber("height", CropHeight);
            json.WriteNumber("width", CropWidth);
            json.WriteEndObject();
            json.WriteBoolean("do_center_crop", DoCenterCrop);
            // ImageDecoder always yields RGB, so the conversion HF makes optional always happens here.
            json.WriteBoolean("do_convert_rgb", true);
            json.WriteBoolean("do_normalize", DoNormalize);
            json.WriteBoolean("do_rescale", DoRescale);
            json.WriteBoolean("do_resize", DoResize);
            WriteNumbers(json, "image_mean", Mean);
            json.WriteString("image_processor_type", "CLIPImageProcessor");
            WriteNumbers(json, "image_std", Std);
            json.WriteNumber("resample", Resample);
            json.WriteNumber("rescale_factor", RescaleFactor);
            json.WriteStartObject("size");
            json.WriteNumber("shortest_edge", ShortestEdge);
            json.WriteEndObject();
            json.WriteEndObject();
        });

    /// <summary>[3, H, W] in [0, 1] → [3, CropHeight, CropWidth] ready for the vision tower. Resizing rounds to
    /// 1/255 steps, so gradients do not flow through it; optimisation in pixel space should go through
    /// <see cref="Normalize"/> alone.</summary>
    public Tensor Preprocess(Tensor image) => Preprocess(image, "image");

    /// <summary>Loads and preprocesses files in order into [N, 3, CropHeight, CropWidth]. Without center
    /// cropping the images must come out the same size to form one batch.</summary>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths) =>
        PreprocessFiles(paths, index => ImageDecoder.Decode(paths[index]));

    /// <inheritdoc/>
    public Tensor PreprocessFiles(IReadOnlyList<string> paths, Func<int, DecodedImage> decoded)
    {
        if (paths.Count == 0)
            return empty(0, 3, CropHeight, CropWidth);
        using var scope = NewDisposeScope();
        var batch = new List<Tensor>(paths.Count);
        for (var index = 0; index < paths.Count; index++)
        {
            var path = paths[index];
            using var inner = NewDisposeScope();
            var image = Preprocess(ImageDecoder.ToTensor(decoded(index)), path).MoveToOuterDisposeScope();
            if (batch.Count > 0 && !image.shape.SequenceEqual(batch[0].shape))
                throw new ImageException($"{path}: preprocessed to [{string.Join(", ", image.shape)}] but {paths[0]} to " +
                                         $"[{string.Join(", ", batch[0].shape)}]; without center cropping the images cannot form one batch");
            batch.Add(image);
        }
        return stack(batch).MoveToOuterDisposeScope();
    }

    /// <summary>(x − mean) / std per channel, for [3, H, W] or [N, 3, H, W] on any device.</summary>
    public Tensor Normalize(Tensor image)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = ChannelTensors(image);
        return image.sub(mean).div(std).MoveToOuterDisposeScope();
    }

    /// <summary>x × std + mean per channel: the inverse of <see cref="Normalize"/>.</summary>
    public Tensor Denormalize(Tensor image)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = ChannelTensors(image);
        return image.mul(std).Plus(mean).MoveToOuterDisposeScope();
    }

    /// <summary>HF's get_resize_output_image_size for a shortest-edge size: the short side becomes
    /// <paramref name="shortestEdge"/> and the long side int(shortestEdge × long / short), truncated, as in Python.
    /// A square input counts its width as the short side.</summary>
    internal static (int Height, int Width) ResizedSize(int height, int width, int shortestEdge)
    {
        var (shortSide, longSide) = width <= height ? (width, height) : (height, width);
        var newLong = (int)((double)((long)shortestEdge * longSide) / shortSide);
        return width <= height ? (newLong, shortestEdge) : (shortestEdge, newLong);
    }

    internal Tensor Resize(Tensor image, string source = "image")
    {
        var (height, width) = ((int)image.shape[1], (int)image.shape[2]);
        var (newHeight, newWidth) = ResizedSize(height, width, ShortestEdge);
        if ((long)newHeight * newWidth > ImageDecoder.MaxPixels)
            throw new ImageException($"{source}: {width}×{height} resized to a shortest side of {ShortestEdge} would be " +
                                     $"{newWidth}×{newHeight}, over the {ImageDecoder.MaxPixels / 1_000_000} megapixel limit");
        return ResizeTo(image, newHeight, newWidth, Resample);
    }

    /// <summary>PIL's resize of [3, H, W] to exactly <paramref name="newHeight"/> × <paramref name="newWidth"/> with
    /// the PIL filter <paramref name="resample"/>; processors that resize to a fixed size (ViT's) use it too.</summary>
    internal static Tensor ResizeTo(Tensor image, int newHeight, int newWidth, int resample)
    {
        var (height, width) = ((int)image.shape[1], (int)image.shape[2]);
        // PIL returns an unchanged copy when the size does not change, so no filter runs then.
        if (newHeight == height && newWidth == width)
            return image;
        // HF resizes uint8 pixels with PIL. torch's antialiased bilinear and bicubic are ports of PIL's
        // Resample.c: the same filters (bicubic with PIL's a = −0.5, where torch without antialias uses −0.75) and
        // the same support widened by the downscale factor; align_corners=false is PIL's pixel-centre convention
        // and nearest-exact is PIL's nearest. PIL runs a horizontal then a vertical pass, clamping and rounding to
        // uint8 after each, so the passes are run separately here with the same rounding to 1/255 steps. That
        // reproduces PIL on the reference images in the tests; what remains is PIL's fixed-point weights and
        // round-half-up against float32 weights and round-half-to-even, which can move a rare value by 1/255.
        var (mode, antialias) = resample switch
        {
            ResampleNearest => (InterpolationMode.NearestExact, false),
            ResampleBilinear => (InterpolationMode.Bilinear, true),
            _ => (InterpolationMode.Bicubic, true),
        };
        using var scope = NewDisposeScope();
        Tensor Pass(Tensor x, long h, long w) =>
            interpolate(x.unsqueeze(0), [h, w], mode: mode,
                align_corners: mode == InterpolationMode.NearestExact ? null : false, antialias: antialias).squeeze(0)
            .ClampInPlace(0, 1).mul_(LiveScalars.ByteMaximum).round_().div_(LiveScalars.ByteMaximum);
        var horizontal = newWidth == width ? image : Pass(image, height, newWidth);
        var resized = newHeight == height ? horizontal : Pass(horizontal, newHeight, newWidth);
        return resized.MoveToOuterDisposeScope();
    }

    /// <summary>HF's center_crop: the window starts at (size − crop) // 2; a side shorter than the crop is
    /// padded with black (zero, before normalization), the image placed at ceil((crop − size) / 2).</summary>
    internal Tensor CenterCrop(Tensor image)
    {
        var (height, width) = (image.shape[1], image.shape[2]);
        var cropped = image;
        if (height > CropHeight)
            cropped = cropped.narrow(1, (height - CropHeight) / 2, CropHeight);
        if (width > CropWidth)
            cropped = cropped.narrow(2, (width - CropWidth) / 2, CropWidth);
        if (height >= CropHeight && width >= CropWidth)
            return cropped;

        var padHeight = Math.Max(0, CropHeight - height);
        var padWidth = Math.Max(0, CropWidth - width);
        var (top, left) = ((padHeight + 1) / 2, (padWidth + 1) / 2);
        return pad(cropped, [left, padWidth - left, top, padHeight - top], PaddingModes.Constant, 0);
    }

    private Tensor Preprocess(Tensor image, string source)
    {
        if (image.dim() != 3 || image.shape[0] != 3 || image.shape[1] == 0 || image.shape[2] == 0)
            throw new ArgumentException($"{source}: expected an image tensor [3, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));

        using var scope = NewDisposeScope();
        var x = image.to(ScalarType.Float32);
        if (DoResize) x = Resize(x, source);
        if (DoCenterCrop) x = CenterCrop(x);
        // HF multiplies 0–255 pixels by rescale_factor when do_rescale is set; ours are already divided by 255.
        // Multiplying even by 1 keeps the result from aliasing the caller's tensor when nothing else changed it.
        x = x.Times(DoRescale ? RescaleFactor * 255 : 255.0);
        if (DoNormalize) x = Normalize(x);
        return x.contiguous().MoveToOuterDisposeScope();
    }

    private (Tensor Mean, Tensor Std) ChannelTensors(Tensor image)
    {
        Tensor PerChannel(IReadOnlyList<double> values) =>
            tensor(values.Select(v => (float)v).ToArray(), dtype: image.dtype, device: image.device).view(3, 1, 1);
        return (PerChannel(Mean), PerChannel(Std));
    }

    private static void RequireSide(Func<string, string, Exception> invalid, string field, int value)
    {
        if (value <= 0 || value > ImageDecoder.MaxSide)
            throw invalid(field, $"must be an integer from 1 to {ImageDecoder.MaxSide}, got {value}");
    }

    private static void WriteNumbers(Utf8JsonWriter json, string name, IReadOnlyList<double> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteNumberValue(value);
        json.WriteEndArray();
    }

    /// <summary>Typed access to preprocessor_config.json fields; a wrong type fails naming the file and field.</summary>
    private readonly struct ConfigReader(string path, JsonElement root)
    {
        public int ShortestEdge()
        {
            if (!root.TryGetProperty("size", out var size) || size.ValueKind == JsonValueKind.Null)
                return 224;
            if (size.ValueKind == JsonValueKind.Number)
                return AsInt(size, "size");
            if (size.ValueKind != JsonValueKind.Object)
                throw Wrong("size", "an integer or an object {\"shortest_edge\": n}", size);
            if (size.TryGetProperty("shortest_edge", out var edge))
                return AsInt(edge, "size.shortest_edge");
            if (size.TryGetProperty("height", out _) || size.TryGetProperty("width", out _))
                throw new ConfigException($"{path}: size: a fixed {{\"height\", \"width\"}} resize is not supported; " +
                                          "CLIP's processor resizes the shortest edge ({\"shortest_edge\": n})");
            throw new ConfigException($"{path}: size: expected a \"shortest_edge\" entry, found {size.GetRawText()}");
        }

        public (int Height, int Width) CropSize()
        {
            if (!root.TryGetProperty("crop_size", out var crop) || crop.ValueKind == JsonValueKind.Null)
                return (224, 224);
            if (crop.ValueKind == JsonValueKind.Number)
            {
                var side = AsInt(crop, "crop_size");
                return (side, side);
            }
            if (crop.ValueKind != JsonValueKind.Object)
                throw Wrong("crop_size", "an integer or an object {\"height\": h, \"width\": w}", crop);
            if (!crop.TryGetProperty("height", out var height) || !crop.TryGetProperty("width", out var width))
                throw new ConfigException($"{path}: crop_size: expected \"height\" and \"width\" entries, found {crop.GetRawText()}");
            return (AsInt(height, "crop_size.height"), AsInt(width, "crop_size.width"));
        }

        public bool Bool(string field, bool fallback)
        {
            if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
                return fallback;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Wrong(field, "true or false", value),
            };
        }

        public int Int(string field, int fallback) =>
            root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null ? AsInt(value, field) : fallback;

        public double Number(string field, double fallback)
        {
            if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
                return fallback;
            return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Wrong(field, "a number", value);
        }

        /// <summary>A per-channel list; HF also accepts one number for all channels.</summary>
        public IReadOnlyList<double> Channels(string field, IReadOnlyList<double> fallback)
        {
            if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
                return fallback;
            if (value.ValueKind == JsonValueKind.Number)
                return [value.GetDouble(), value.GetDouble(), value.GetDouble()];
            if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                throw Wrong(field, "a list of numbers", value);
            return [.. value.EnumerateArray().Select(v => v.GetDouble())];
        }

        private int AsInt(JsonElement value, string field) =>
            value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var result) ? result : throw Wrong(field, "an integer", value);

        private ConfigException Wrong(string field, string expected, JsonElement found) =>
            new($"{path}: {field}: expected {expected}, found {found.GetRawText()}");
    }
}
