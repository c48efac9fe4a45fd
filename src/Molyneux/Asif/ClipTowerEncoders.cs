using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>A CLIPVisionModelWithProjection folder (config.json, model.safetensors, preprocessor_config.json) as an
/// image encoder.</summary>
public sealed class ClipVisionEncoder(ClipTower model, ClipImageProcessor processor, ComputeDevice device, string identity)
    : FolderEncoder<ClipTower>(model, device, identity), IImageEncoder
{
    public ClipImageProcessor Processor { get; } = processor;

    public int EmbeddingSize => Model.ProjectionDim;

    public int BatchSize { get; init; } = 32;

    public static ClipVisionEncoder Load(string folder, ComputeDevice? device = null)
    {
        var model = ClipTowerFolder.Read(folder, ClipTower.VisionModelType);
        var preprocessor = Path.Combine(folder, ClipImageProcessor.FileName);
        var processor = File.Exists(preprocessor) ? ClipImageProcessor.FromFile(preprocessor) : ClipImageProcessor.Default(model.Config.Vision.ImageSize);
        device ??= ComputeDevice.Cpu;
        return new ClipVisionEncoder(model, processor, device, ClipTowerFolder.LoadWeights(model, folder, device));
    }

    /// <summary>Writes the files of a CLIPVisionModelWithProjection folder into an existing folder.</summary>
    public static void Save(ClipTower model, ClipImageProcessor processor, string folder)
    {
        ClipTowerFolder.Write(model, folder);
        processor.Save(Path.Combine(folder, ClipImageProcessor.FileName));
    }

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        BatchedInference.RunFiles(imagePaths, BatchSize, EmbeddingSize, progress, Processor,
            pixels => Model.forward(EncoderFolder.ToDevice(pixels, Device)));
}

/// <summary>A CLIPTextModelWithProjection folder (config.json, model.safetensors, vocab.json, merges.txt) as a text
/// encoder.</summary>
public sealed class ClipTextEncoder(ClipTower model, ClipTokenizer tokenizer, ComputeDevice device, string identity)
    : FolderEncoder<ClipTower>(model, device, identity), ITextEncoder
{
    public ClipTokenizer Tokenizer { get; } = tokenizer;

    public int EmbeddingSize => Model.ProjectionDim;

    public int BatchSize { get; init; } = 256;

    public static ClipTextEncoder Load(string folder, ComputeDevice? device = null)
    {
        var model = ClipTowerFolder.Read(folder, ClipTower.TextModelType);
        var tokenizer = ClipTokenizer.FromFolder(folder);
        if (tokenizer.VocabularySize != model.Config.Text.VocabSize)
            throw new TokenizerException($"{folder}: the tokenizer has {tokenizer.VocabularySize} tokens but the model's vocab_size is {model.Config.Text.VocabSize}");
        device ??= ComputeDevice.Cpu;
        return new ClipTextEncoder(model, tokenizer, device, ClipTowerFolder.LoadWeights(model, folder, device));
    }

    /// <summary>Writes the files of a CLIPTextModelWithProjection folder into an existing folder.</summary>
    public static void Save(ClipTower model, ClipTokenizer tokenizer, string folder)
    {
        ClipTowerFolder.Write(model, folder);
        tokenizer.SaveHuggingFaceFiles(folder, model.Config.Text.MaxPositionEmbeddings);
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        BatchedInference.Run(texts, BatchSize, EmbeddingSize, progress,
            batch => Model.forward(Tokenizer.TokenizeBatch(batch, Model.Config.Text.MaxPositionEmbeddings).to(Device.Device)));
}

/// <summary>config.json and model.safetensors of a CLIP tower folder; the parameter names are HF's already.</summary>
internal static class ClipTowerFolder
{
    public static ClipTower Read(string folder, string modelType)
    {
        var tower = ClipTower.FromConfigFile(Path.Combine(folder, HfConfigFile.FileName));
        var found = tower.IsVision ? ClipTower.VisionModelType : ClipTower.TextModelType;
        return found == modelType ? tower : throw new ConfigException($"{folder}: a {found} folder, expected {modelType}");
    }

    public static string LoadWeights(ClipTower tower, string folder, ComputeDevice device) =>
        EncoderFolder.LoadWeights(tower, folder, name => name, EncoderFolder.IsPositionIds, device);

    public static void Write(ClipTower tower, string folder)
    {
        tower.SaveConfig(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(tower, Path.Combine(folder, EncoderFolder.WeightsFile), name => name);
    }
}
