using System.Security.Cryptography;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>A CLIP model with what it needs to read raw inputs: its tokenizer, its image preprocessing, the device
/// it runs on, and where it came from. It encodes files and strings in batches, without gradients.</summary>
public sealed class ClipPipeline : IImageEncoder, ITextEncoder, IDisposable
{
    private Lazy<string> identity;

    public ClipPipeline(ClipModel model, ClipTokenizer tokenizer, ClipImageProcessor imageProcessor, ComputeDevice device, CheckpointSource? source = null)
    {
        Model = model;
        Tokenizer = tokenizer;
        ImageProcessor = imageProcessor;
        Device = device;
        Source = source;
        model.to(device.Device);
        if (device.DType != model.DType) model.to(device.DType);
        model.eval();
        identity = new Lazy<string>(() => source is not null ? HashFile(source.WeightsPath) : HashParameters(model));
    }

    public ClipModel Model { get; }

    public ClipTokenizer Tokenizer { get; private set; }

    public ClipImageProcessor ImageProcessor { get; }

    public ComputeDevice Device { get; }

    public CheckpointSource? Source { get; private set; }

    /// <summary>SHA-256 of the weights file (or of the parameters, for a model that has no file yet).</summary>
    public string Identity => identity.Value;

    public int EmbeddingSize => Model.Config.ProjectionDim;

    /// <summary>Records that the weights were changed in place (fine-tuning), with the tokenizer that goes with them
    /// when the vocabulary grew: the source no longer describes the weights and the identity becomes the hash of the
    /// new parameters, so caches keyed by it do not serve the old model's features.</summary>
    public void WeightsChanged(ClipTokenizer? tokenizer = null)
    {
        if (tokenizer is not null && tokenizer.VocabularySize != Model.Config.Text.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabularySize} tokens but the model's vocab_size is {Model.Config.Text.VocabSize}", nameof(tokenizer));
        Tokenizer = tokenizer ?? Tokenizer;
        Source = null;
        identity = new Lazy<string>(() => HashParameters(Model));
    }

    public int ImageBatchSize { get; init; } = 32;

    public int TextBatchSize { get; init; } = 256;

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        EncodeInBatches(imagePaths, ImageBatchSize, progress, batch => ImageProcessor.PreprocessFiles(batch), Model.GetImageFeatures);

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        EncodeInBatches(texts, TextBatchSize, progress,
            batch => Tokenizer.TokenizeBatch(batch, Model.Config.Text.MaxPositionEmbeddings), Model.GetTextFeatures);

    /// <summary>Encodes already-preprocessed pixels [N, 3, H, W] (as HF's pixel_values).</summary>
    public Tensor EncodePixels(Tensor pixelValues) =>
        EncodeInBatches(Enumerable.Range(0, (int)pixelValues.shape[0]).ToArray(), ImageBatchSize, null,
            batch => pixelValues[batch[0]..(batch[^1] + 1)], Model.GetImageFeatures);

    private Tensor EncodeInBatches<T>(IReadOnlyList<T> items, int batchSize, IProgress<int>? progress,
        Func<IReadOnlyList<T>, Tensor> prepare, Func<Tensor, Tensor> encode) =>
        BatchedInference.Run(items, batchSize, EmbeddingSize, progress, batch =>
        {
            var input = prepare(batch).to(Device.Device);
            return encode(input.is_floating_point() ? input.to(Model.DType) : input);
        });

    /// <summary>SHA-256 of a file's bytes, hex: the identity of encoders read from a weights file.</summary>
    internal static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string HashParameters(ClipModel model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, parameter) in model.named_parameters())
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var cpu = parameter.detach().to(ScalarType.Float32).cpu().contiguous();
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Dispose() => Model.Dispose();
}
