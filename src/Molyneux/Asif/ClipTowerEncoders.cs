using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>A CLIPVisionModelWithProjection folder (config.json, model.safetensors, preprocessor_config.json) as an
/// image encoder.</summary>
public sealed class ClipVisionEncoder : IImageEncoder, IDisposable
{
    private const string PreprocessorFile = "preprocessor_config.json";

    private ClipVisionEncoder(ClipVisionTower model, ClipImageProcessor processor, ComputeDevice device, string identity)
    {
        (Model, Processor, Device, Identity) = (model, processor, device, identity);
    }

    public ClipVisionTower Model { get; }

    public ClipImageProcessor Processor { get; }

    public ComputeDevice Device { get; }

    /// <summary>SHA-256 of model.safetensors.</summary>
    public string Identity { get; }

    public int EmbeddingSize => Model.ProjectionDim;

    public int BatchSize { get; init; } = 32;

    public static ClipVisionEncoder Load(string folder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var model = ClipVisionTower.FromConfigFile(Path.Combine(folder, HfConfigFile.FileName));
        var preprocessor = Path.Combine(folder, PreprocessorFile);
        var processor = File.Exists(preprocessor) ? ClipImageProcessor.FromFile(preprocessor) : ClipImageProcessor.Default(model.Config.ImageSize);
        var identity = EncoderFolder.LoadWeights(model, folder, name => name, EncoderFolder.IsPositionIds, device);
        return new ClipVisionEncoder(model, processor, device, identity);
    }

    /// <summary>Writes the files of a CLIPVisionModelWithProjection folder into an existing folder.</summary>
    public static void Save(ClipVisionTower model, ClipImageProcessor processor, string folder)
    {
        model.SaveConfig(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(model, Path.Combine(folder, EncoderFolder.WeightsFile), name => name);
        processor.Save(Path.Combine(folder, PreprocessorFile));
    }

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        BatchedInference.Run(imagePaths, BatchSize, EmbeddingSize, progress,
            batch => Model.forward(EncoderFolder.ToDevice(Processor.PreprocessFiles(batch), Device)));

    public void Dispose() => Model.Dispose();
}

/// <summary>A CLIPTextModelWithProjection folder (config.json, model.safetensors, vocab.json, merges.txt) as a text
/// encoder.</summary>
public sealed class ClipTextEncoder : ITextEncoder, IDisposable
{
    private ClipTextEncoder(ClipTextTower model, ClipTokenizer tokenizer, ComputeDevice device, string identity)
    {
        (Model, Tokenizer, Device, Identity) = (model, tokenizer, device, identity);
    }

    public ClipTextTower Model { get; }

    public ClipTokenizer Tokenizer { get; }

    public ComputeDevice Device { get; }

    /// <summary>SHA-256 of model.safetensors.</summary>
    public string Identity { get; }

    public int EmbeddingSize => Model.ProjectionDim;

    public int BatchSize { get; init; } = 256;

    public static ClipTextEncoder Load(string folder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var model = ClipTextTower.FromConfigFile(Path.Combine(folder, HfConfigFile.FileName));
        var tokenizer = ClipTokenizer.FromFolder(folder);
        if (tokenizer.VocabularySize != model.Config.VocabSize)
            throw new TokenizerException($"{folder}: the tokenizer has {tokenizer.VocabularySize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        var identity = EncoderFolder.LoadWeights(model, folder, name => name, EncoderFolder.IsPositionIds, device);
        return new ClipTextEncoder(model, tokenizer, device, identity);
    }

    /// <summary>Writes the files of a CLIPTextModelWithProjection folder into an existing folder.</summary>
    public static void Save(ClipTextTower model, ClipTokenizer tokenizer, string folder)
    {
        model.SaveConfig(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(model, Path.Combine(folder, EncoderFolder.WeightsFile), name => name);
        tokenizer.SaveHuggingFaceFiles(folder);
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        BatchedInference.Run(texts, BatchSize, EmbeddingSize, progress,
            batch => Model.forward(Tokenizer.TokenizeBatch(batch, Model.Config.MaxPositionEmbeddings).to(Device.Device)));

    public void Dispose() => Model.Dispose();
}
