using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>The text tower of a dual encoder (the <c>text_model</c> of Hugging Face's
/// <c>VisionTextDualEncoderModel</c>): token ids to one pooled vector per text. Implemented by
/// <see cref="Asif.BertModel"/> (mean pooling, as sentence encoders) and <see cref="ClipTextModel"/> (the end-of-text
/// state, HF's pooler output).</summary>
public interface ITextTower
{
    /// <summary>The tower as a module, registered as <c>text_model</c>.</summary>
    nn.Module Module { get; }

    /// <summary>Width of the pooled features, which the text projection takes.</summary>
    int FeatureWidth { get; }

    /// <summary>Pooled features [batch, FeatureWidth] of int64 ids [batch, length] padded as the tokenizer pads.</summary>
    Tensor Pool(Tensor inputIds);

    /// <summary>One line for <c>molyneux info</c>.</summary>
    string Description { get; }

    /// <summary>The name in the dual encoder's checkpoint (after <c>text_model.</c>) of a module parameter.</summary>
    string HuggingFaceName(string moduleName);

    /// <summary>Whether a tensor of a checkpoint (named as in the file, after <c>text_model.</c>) is one the tower does not use.</summary>
    bool IsIgnorable(string fileName);
}

/// <summary>The shape of a text tower as the dual encoder's <c>text_config</c> records it.</summary>
public interface ITextTowerConfig
{
    /// <summary>HF's model_type of the tower (<c>bert</c>, <c>clip_text_model</c>).</summary>
    string ModelType { get; }

    int FeatureWidth { get; }

    int VocabSize { get; }

    /// <summary>Tokens per text the dual encoder gives the tower, start and end tokens included; longer texts are cut.</summary>
    int ContextLength { get; }

    void Validate(string source);

    /// <summary>The <c>text_config</c> object, model_type included.</summary>
    JsonObject ToHuggingFaceJson();

    /// <summary>A tower of this shape with fresh weights.</summary>
    ITextTower CreateTower();
}
