using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Runtime;

namespace Molyneux.Asif;

/// <summary>Opens an encoder folder by its config.json's <c>model_type</c>: images from a ViT (<c>vit</c>) or a CLIP
/// vision tower with projection (<c>clip_vision_model</c>), texts from a BERT sentence encoder (<c>bert</c>) or a CLIP
/// text tower with projection (<c>clip_text_model</c>). A whole CLIP (<c>clip</c>) serves either modality, for
/// comparisons; ASIF's point is to need none.</summary>
public static class UnimodalEncoders
{
    public static IImageEncoder LoadImageEncoder(string folder, ComputeDevice? device = null) =>
        HfConfigFile.ModelType(folder) switch
        {
            ViTConfig.ModelType => ViTImageEncoder.Load(folder, device),
            ClipTower.VisionModelType => ClipVisionEncoder.Load(folder, device),
            "clip" => ClipCheckpoint.Load(folder, new ClipLoadOptions { Device = device ?? ComputeDevice.Cpu }),
            var other => throw new ConfigException($"{folder}: model_type '{other}' is not an image encoder Molyneux reads " +
                                                   $"({ViTConfig.ModelType}, {ClipTower.VisionModelType}, clip)"),
        };

    public static ITextEncoder LoadTextEncoder(string folder, ComputeDevice? device = null) =>
        HfConfigFile.ModelType(folder) switch
        {
            BertConfig.ModelType => BertTextEncoder.Load(folder, device),
            ClipTower.TextModelType => ClipTextEncoder.Load(folder, device),
            "clip" => ClipCheckpoint.Load(folder, new ClipLoadOptions { Device = device ?? ComputeDevice.Cpu }),
            var other => throw new ConfigException($"{folder}: model_type '{other}' is not a text encoder Molyneux reads " +
                                                   $"({BertConfig.ModelType}, {ClipTower.TextModelType}, clip)"),
        };
}
