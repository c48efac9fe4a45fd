using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>A Hugging Face ViTModel folder (config.json, model.safetensors, preprocessor_config.json) as an image
/// encoder: the embedding of an image is the final-norm state of its class token.</summary>
public sealed class ViTImageEncoder(ViTModel model, ViTImageProcessor processor, ComputeDevice device, string identity)
    : FolderEncoder<ViTModel>(model, device, identity), IImageEncoder
{
    public ViTImageProcessor Processor { get; } = processor;

    public int EmbeddingSize => Model.Config.HiddenSize;

    public int BatchSize { get; init; } = 32;

    public static ViTImageEncoder Load(string folder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var config = ViTConfig.FromFile(Path.Combine(folder, HfConfigFile.FileName));
        var preprocessor = Path.Combine(folder, ViTImageProcessor.FileName);
        var processor = File.Exists(preprocessor) ? ViTImageProcessor.FromFile(preprocessor) : ViTImageProcessor.Default(config.ImageSize);
        var model = new ViTModel(config);
        var identity = EncoderFolder.LoadWeights(model, folder, ViTNaming.HuggingFaceName,
            name => ViTNaming.IsIgnorable(name) || EncoderFolder.IsPositionIds(name), device);
        return new ViTImageEncoder(model, processor, device, identity);
    }

    /// <summary>Writes the three files of a HF ViTModel folder into an existing folder.</summary>
    public static void Save(ViTModel model, ViTImageProcessor processor, string folder)
    {
        model.Config.Save(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(model, Path.Combine(folder, EncoderFolder.WeightsFile), ViTNaming.HuggingFaceName);
        processor.Save(Path.Combine(folder, ViTImageProcessor.FileName));
    }

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        BatchedInference.RunFiles(imagePaths, BatchSize, EmbeddingSize, progress, Processor,
            pixels => Model.Embed(EncoderFolder.ToDevice(pixels, Device)));
}
