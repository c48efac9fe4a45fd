using System.Security.Cryptography;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>What every <see cref="IVisionLanguageModel"/> does the same way: put the module on its device in eval
/// mode, encode files, strings and pixels in batches without gradients, and identify the weights (the hash of the
/// weights file, or of the parameters once they changed). A model kind supplies its features, tokenizer, image
/// preprocessing and parameter groups.</summary>
public abstract class VisionLanguagePipeline : IVisionLanguageModel
{
    private readonly nn.Module module;
    private Lazy<string> identity;

    protected VisionLanguagePipeline(nn.Module module, ComputeDevice device, CheckpointSource? source)
    {
        this.module = module;
        Device = device;
        Source = source;
        module.to(device.Device);
        if (module.parameters().First().dtype != device.DType) module.to(device.DType);
        module.eval();
        identity = new Lazy<string>(() => source is not null ? SafetensorsWeights.HashContent(source.WeightsPath) : HashParameters(module));
    }

    public nn.Module Module => module;

    public ComputeDevice Device { get; }

    public CheckpointSource? Source { get; private set; }

    /// <summary>SHA-256 of the weights file (or of the parameters, for a model that has no file yet), combined with
    /// <see cref="IdentitySalt"/> when the model kind has one.</summary>
    public string Identity => IdentitySalt.Length == 0
        ? identity.Value
        : Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{identity.Value};{IdentitySalt}")));

    /// <summary>What besides the weights decides the features (settings a config holds outside the weights file).</summary>
    protected virtual string IdentitySalt => "";

    public int ImageBatchSize { get; init; } = 32;

    public int TextBatchSize { get; init; } = 256;

    public abstract int EmbeddingSize { get; }

    public abstract int ImageSize { get; }

    public abstract Parameter LogitScale { get; }

    public abstract IReadOnlyList<(string Name, object Value)> Architecture { get; }

    public abstract Tensor Normalize(Tensor pixels);

    public abstract int ContextLength { get; }

    public abstract int CountTokens(string text);

    public abstract Tensor Tokenize(IReadOnlyList<string> texts);

    public abstract Tensor ImageFeatures(Tensor pixelValues);

    public abstract Tensor TextFeatures(Tensor tokenIds);

    /// <summary>By Hugging Face's module names, which CLIPModel and VisionTextDualEncoderModel share
    /// (<c>vision_model</c>, <c>text_model</c>, <c>visual_projection</c>, <c>text_projection</c>); a model kind named
    /// otherwise overrides this.</summary>
    public virtual IReadOnlyList<Parameter> Parameters(ModelPart part) => part switch
    {
        ModelPart.ImageTower => ParametersUnder("vision_model."),
        ModelPart.TextTower => ParametersUnder("text_model."),
        ModelPart.ImageProjection => ParametersUnder("visual_projection."),
        ModelPart.TextProjection => ParametersUnder("text_projection."),
        ModelPart.Temperature => [LogitScale],
        _ => [],
    };

    public abstract void WriteModelFiles(string folder);

    /// <summary>An independent copy in memory: a fresh module of the same configuration holding the same weights and
    /// buffers, with the same tokenizer, preprocessing, device, source and identity (not hashed again). Knowledge
    /// Transfer's trials each start from one, so the base model is read from disk once.</summary>
    public IVisionLanguageModel Copy()
    {
        var copy = CreateSibling();
        using (no_grad())
        {
            var weights = module.state_dict();
            foreach (var (name, tensor) in copy.module.state_dict()) tensor.copy_(weights[name]);
        }
        copy.identity = identity;
        return copy;
    }

    /// <summary>A pipeline of this kind around a new module of the same configuration (its weights are overwritten by
    /// <see cref="Copy"/>), owning its own disposable resources.</summary>
    protected abstract VisionLanguagePipeline CreateSibling();

    /// <summary>Decodes and preprocesses image files into model inputs [N, 3, S, S] (CPU), on the <see cref="ImagePipeline"/>.</summary>
    protected abstract IImageFilePreprocessor ImageFilePreprocessor { get; }

    public virtual void WeightsChanged()
    {
        Source = null;
        identity = new Lazy<string>(() => HashParameters(module));
    }

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        BatchedInference.RunFiles(imagePaths, ImageBatchSize, EmbeddingSize, progress, ImageFilePreprocessor, ImageFeaturesOnDevice);

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        EncodeInBatches(texts, TextBatchSize, progress, Tokenize, TextFeatures);

    public Tensor EncodePixels(Tensor pixelValues, string? source = null)
    {
        RequireImageSize(ImageSize, pixelValues, source ?? "pixel_values");
        return EncodeInBatches(Enumerable.Range(0, (int)pixelValues.shape[0]).ToArray(), ImageBatchSize, null,
            batch => pixelValues[batch[0]..(batch[^1] + 1)], ImageFeatures);
    }

    /// <summary>Stops inputs that are not <paramref name="size"/> × <paramref name="size"/> pixels with a message naming
    /// <paramref name="source"/>, before the model fails on them with its own (a ViT's patch grid is fixed, a ResNet's
    /// mean image too).</summary>
    internal static void RequireImageSize(int size, Tensor pixelValues, string? source)
    {
        if (pixelValues.dim() != 4 || pixelValues.shape[1] != 3 || pixelValues.shape[2] != size || pixelValues.shape[3] != size)
            throw new ImageException($"{source}: the pixel values are [{string.Join(", ", pixelValues.shape)}]; the model takes [N, 3, {size}, {size}]");
    }

    private Tensor EncodeInBatches<T>(IReadOnlyList<T> items, int batchSize, IProgress<int>? progress,
        Func<IReadOnlyList<T>, Tensor> prepare, Func<Tensor, Tensor> encode) =>
        BatchedInference.Run(items, batchSize, EmbeddingSize, progress, batch => OnDevice(prepare(batch), encode));

    private Tensor ImageFeaturesOnDevice(Tensor pixelValues) => OnDevice(pixelValues, ImageFeatures);

    /// <summary>The model inputs moved to the model's device, floating point ones in its dtype, then encoded.</summary>
    private Tensor OnDevice(Tensor inputs, Func<Tensor, Tensor> encode)
    {
        var input = inputs.to(Device.Device);
        return encode(input.is_floating_point() ? input.to(Device.DType) : input);
    }

    /// <summary>The parameters whose names start with one of the prefixes, in module order.</summary>
    protected IReadOnlyList<Parameter> ParametersUnder(params string[] prefixes) => module.named_parameters()
        .Where(entry => prefixes.Any(prefix => entry.name.StartsWith(prefix, StringComparison.Ordinal)))
        .Select(entry => entry.parameter).ToList();

    private static string HashParameters(nn.Module module)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, parameter) in module.named_parameters())
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var cpu = parameter.detach().to(ScalarType.Float32).cpu().contiguous();
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Dispose()
    {
        module.Dispose();
        DisposeResources();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the model kind holds besides the module (a processor's tensors).</summary>
    protected virtual void DisposeResources()
    {
    }
}
