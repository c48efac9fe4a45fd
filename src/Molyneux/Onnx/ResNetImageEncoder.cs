using Molyneux.Asif;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>A <see cref="ResNetModel"/> with its <see cref="ResNetImageProcessor"/> as an image encoder: the embedding
/// of an image is the tower's pooled features (512 values for ResNet18, all ≥ 0 since they follow a ReLU).</summary>
public sealed class ResNetImageEncoder(ResNetModel model, ResNetImageProcessor processor, ComputeDevice device, string identity)
    : IImageEncoder, IDisposable
{
    public ResNetModel Model { get; } = model;

    public ResNetImageProcessor Processor { get; } = processor;

    public ComputeDevice Device { get; } = device;

    public string Identity { get; } = identity;

    public int EmbeddingSize => Model.Config.FeatureWidth;

    public int BatchSize { get; init; } = 32;

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        BatchedInference.RunFiles(imagePaths, BatchSize, EmbeddingSize, progress, Processor,
            pixels => Model.forward(EncoderFolder.ToDevice(pixels, Device)));

    /// <summary>Encodes decoded images [3, h, w] with RGB in [0, 1]; CPU float32 [N, EmbeddingSize].</summary>
    public Tensor EncodeImages(IReadOnlyList<Tensor> images, IProgress<int>? progress = null) =>
        BatchedInference.Run(images, BatchSize, EmbeddingSize, progress,
            batch => Model.forward(EncoderFolder.ToDevice(stack(batch.Select(image => Processor.Preprocess(image))), Device)));

    public void Dispose()
    {
        Model.Dispose();
        Processor.Dispose();
    }
}
