using System.Text.Json.Nodes;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>The image tower of a dual encoder (the <c>vision_model</c> of Hugging Face's
/// <c>VisionTextDualEncoderModel</c>): preprocessed pixels to pooled features, run as a stem and numbered stages (a
/// ResNet's four stages, a ViT's encoder layers), so that alignment computes a locked prefix once and trains the rest,
/// and attribution cuts the tower between two stages. Implemented by <see cref="Onnx.ResNetModel"/>,
/// <see cref="Asif.ViTModel"/> and <see cref="ClipVisionModel"/>.</summary>
public interface IImageTower
{
    /// <summary>The tower as a module, registered as <c>vision_model</c>.</summary>
    nn.Module Module { get; }

    /// <summary>Width of the pooled features, which the visual projection takes.</summary>
    int FeatureWidth { get; }

    /// <summary>How many stages follow the stem.</summary>
    int StageCount { get; }

    /// <summary>What enters the first stage (a ResNet's stem, a ViT's embeddings).</summary>
    Tensor Stem(Tensor pixelValues);

    /// <summary>Stages <paramref name="from"/> (0-based) up to <paramref name="to"/> (exclusive) applied to what enters
    /// stage <paramref name="from"/>.</summary>
    Tensor Stages(Tensor hidden, int from, int to);

    /// <summary>The pooled features [batch, FeatureWidth] of the last stage's output.</summary>
    Tensor Pool(Tensor hidden);

    /// <summary>Everything that trains when the stages from <paramref name="stage"/> (0-based) up are unlocked: those
    /// stages and what pools after them (a final norm).</summary>
    IEnumerable<Parameter> ParametersFromStage(int stage);

    /// <summary>A stage's output as tokens [N, T, D] over the image (a feature map's h·w positions, a ViT's tokens).</summary>
    (Tensor Tokens, TokenGrid Grid) AsTokens(Tensor hidden);

    /// <summary>Tokens of <see cref="AsTokens"/> (possibly changed) back into a stage output.</summary>
    Tensor FromTokens(Tensor tokens, TokenGrid grid);

    /// <summary>One line for <c>molyneux info</c>.</summary>
    string Description { get; }

    /// <summary>The name in the dual encoder's checkpoint (after <c>vision_model.</c>) of a module parameter or buffer.</summary>
    string HuggingFaceName(string moduleName);

    /// <summary>Whether a tensor of a checkpoint (named as in the file, after <c>vision_model.</c>) is one the tower does
    /// not use.</summary>
    bool IsIgnorable(string fileName);

    /// <summary>The pooled features of preprocessed pixels.</summary>
    Tensor Features(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return Pool(Stages(Stem(pixelValues), 0, StageCount)).MoveToOuterDisposeScope();
    }
}

/// <summary>The shape of an image tower as the dual encoder's <c>vision_config</c> records it.</summary>
public interface IImageTowerConfig
{
    /// <summary>HF's model_type of the tower (<c>resnet</c>, <c>vit</c>, <c>clip_vision_model</c>).</summary>
    string ModelType { get; }

    /// <summary>The side of the square images the tower takes.</summary>
    int ImageSize { get; }

    int FeatureWidth { get; }

    /// <summary>Throws a ConfigException naming <paramref name="source"/> when the shape is not one the tower can have.</summary>
    void Validate(string source);

    /// <summary>The <c>vision_config</c> object, model_type included.</summary>
    JsonObject ToHuggingFaceJson();

    /// <summary>A tower of this shape with fresh weights.</summary>
    IImageTower CreateTower();
}
