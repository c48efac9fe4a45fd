using Molyneux.Checkpoints;
using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>The parts of a vision-language model that training addresses separately: the paper's "image tower only",
/// open_clip's lock_image / lock_text, LiT's locked image tower with fresh projections.</summary>
public enum ModelPart
{
    ImageTower,
    TextTower,
    ImageProjection,
    TextProjection,
    Temperature,

    /// <summary>A captioner's multimodal text decoder (CoCa's <c>text_decoder</c>): the paper's † variant trains it
    /// beside the image tower. Empty for a model that writes no captions.</summary>
    TextDecoder,
}

/// <summary>A vision-language model as Knowledge Transfer, evaluation and the commands see it: image features of
/// pixels, text features of token ids, both differentiable, with the tokenizer and image preprocessing that turn raw
/// inputs into those, a temperature, and named parameter groups. CLIP (<see cref="ClipPipeline"/>) is one
/// implementation and the any-tower dual encoder (<see cref="DualEncoderPipeline"/>) another; a new model kind is
/// one more, and nothing that works on this interface changes.</summary>
public interface IVisionLanguageModel : IImageEncoder, ITextEncoder, IDisposable
{
    /// <summary>Identifies the weights (a content hash): one identity for both towers.</summary>
    new string Identity { get; }

    /// <summary>The size of the shared space both towers project into.</summary>
    new int EmbeddingSize { get; }

    /// <summary>The module that holds every weight, for train/eval mode and for enumerating parameters.</summary>
    nn.Module Module { get; }

    /// <summary>Where the weights live and their dtype: one device for both towers.</summary>
    new ComputeDevice Device { get; }

    /// <summary>An independent copy in memory (same weights, tokenizer, preprocessing, device and identity): training
    /// the copy leaves this model as it was.</summary>
    IVisionLanguageModel Copy();

    /// <summary>The side in pixels of the square images <see cref="ImageFeatures"/> takes.</summary>
    int ImageSize { get; }

    /// <summary>Where the weights came from; null once they were changed in place or for a model never saved.</summary>
    CheckpointSource? Source { get; }

    /// <summary>The learnt log temperature: logits are exp(LogitScale) × cosine.</summary>
    Parameter LogitScale { get; }

    /// <summary>What <c>molyneux info</c> shows of the architecture, in order.</summary>
    IReadOnlyList<(string Name, object Value)> Architecture { get; }

    /// <summary>RGB pixels in [0, 1], [N, 3, ImageSize, ImageSize], to the model's input (differentiable, so
    /// inversion can optimise the pixels through it).</summary>
    Tensor Normalize(Tensor pixels);

    /// <summary>The most tokens a text may have, start and end tokens included; <see cref="Tokenize"/> cuts longer
    /// ones.</summary>
    int ContextLength { get; }

    /// <summary>The tokens of a text before any cut, start and end tokens included: more than
    /// <see cref="ContextLength"/> means the model would read only part of it.</summary>
    int CountTokens(string text);

    /// <summary>int64 token ids [N, L] of the texts (CPU), padded so that <see cref="TextFeatures"/> ignores the padding.</summary>
    Tensor Tokenize(IReadOnlyList<string> texts);

    /// <summary>Unnormalised image features [N, EmbeddingSize] of model inputs, with gradients where enabled.</summary>
    Tensor ImageFeatures(Tensor pixelValues);

    /// <summary>Unnormalised text features [N, EmbeddingSize] of token ids from <see cref="Tokenize"/>.</summary>
    Tensor TextFeatures(Tensor tokenIds);

    /// <summary>Model inputs [N, 3, S, S] encoded in batches without gradients; CPU float32 [N, EmbeddingSize].</summary>
    /// <param name="pixelValues">The model inputs, S = <see cref="ImageSize"/>.</param>
    /// <param name="source">Names the inputs (a file) in the error inputs of another size give; null: "pixel_values".</param>
    /// <exception cref="ImageException">The inputs are not S × S pixels.</exception>
    Tensor EncodePixels(Tensor pixelValues, string? source = null);

    IReadOnlyList<Parameter> Parameters(ModelPart part);

    /// <summary>Records that the weights were changed in place: the source no longer describes them and the identity
    /// becomes the hash of the new parameters, so caches keyed by it do not serve the old model's features.</summary>
    void WeightsChanged();

    /// <summary>Writes the model's folder into an existing folder, in the layout its kind is read back from: a
    /// Hugging Face folder (config, weights, tokenizer, preprocessor) for CLIP and the dual encoder, open_clip's for
    /// a CoCa.</summary>
    void WriteModelFiles(string folder);
}
