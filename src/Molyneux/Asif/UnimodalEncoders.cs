using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Onnx;
using Molyneux.Runtime;

namespace Molyneux.Asif;

/// <summary>Opens an encoder folder by its config.json's <c>model_type</c>: images from a ViT (<c>vit</c>) or a CLIP
/// vision tower with projection (<c>clip_vision_model</c>), texts from a BERT sentence encoder (<c>bert</c>) or a CLIP
/// text tower with projection (<c>clip_text_model</c>). A whole CLIP (<c>clip</c>) or dual encoder
/// (<c>vision_text_dual_encoder</c>) serves either modality, for comparisons; ASIF's point is to need none. Two pretrained encoders come with the build and are named instead of a
/// folder: <see cref="ResNet18ImageNetName"/> (images) and <see cref="MiniLmName"/> (texts).</summary>
public static class UnimodalEncoders
{
    /// <summary>The ImageNet ResNet18 of ML.NET's featurizer package (<see cref="ResNet18ImageNet"/>).</summary>
    public const string ResNet18ImageNetName = "resnet18-imagenet";

    /// <summary>all-MiniLM-L6-v2 (<see cref="MiniLm"/>).</summary>
    public const string MiniLmName = "minilm";

    /// <summary>Whether <paramref name="source"/> names a built-in encoder rather than a folder.</summary>
    public static bool IsBuiltIn(string source) => source is ResNet18ImageNetName or MiniLmName;

    /// <summary>How an index records where an encoder came from: a built-in name as it is, a folder as a full path.</summary>
    public static string Recorded(string source) => IsBuiltIn(source) ? source : Path.GetFullPath(source);

    public static IImageEncoder LoadImageEncoder(string folder, ComputeDevice? device = null) =>
        folder == ResNet18ImageNetName ? ResNet18ImageNet.Load(device) : HfConfigFile.ModelType(folder) switch
        {
            ViTConfig.ModelType => ViTImageEncoder.Load(folder, device),
            ClipTower.VisionModelType => ClipVisionEncoder.Load(folder, device),
            "clip" => ClipCheckpoint.Load(folder, new ClipLoadOptions { Device = device ?? ComputeDevice.Cpu }),
            DualEncoderConfig.ModelType => DualEncoderCheckpoint.Load(folder, device),
            var other => throw new ConfigException($"{folder}: model_type '{other}' is not an image encoder Molyneux reads " +
                                                   $"({ViTConfig.ModelType}, {ClipTower.VisionModelType}, clip, {DualEncoderConfig.ModelType})"),
        };

    public static ITextEncoder LoadTextEncoder(string folder, ComputeDevice? device = null) =>
        folder == MiniLmName ? MiniLm.Load(device) : HfConfigFile.ModelType(folder) switch
        {
            BertConfig.ModelType => BertTextEncoder.Load(folder, device),
            ClipTower.TextModelType => ClipTextEncoder.Load(folder, device),
            "clip" => ClipCheckpoint.Load(folder, new ClipLoadOptions { Device = device ?? ComputeDevice.Cpu }),
            DualEncoderConfig.ModelType => DualEncoderCheckpoint.Load(folder, device),
            var other => throw new ConfigException($"{folder}: model_type '{other}' is not a text encoder Molyneux reads " +
                                                   $"({BertConfig.ModelType}, {ClipTower.TextModelType}, clip, {DualEncoderConfig.ModelType})"),
        };
}
