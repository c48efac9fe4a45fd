using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Modeling;

/// <summary>Turns images into vectors. CLIP's image tower is one; ASIF's unimodal image encoders are others.</summary>
public interface IImageEncoder
{
    /// <summary>Identifies the weights (a content hash), so caches of embeddings can be keyed by it.</summary>
    string Identity { get; }

    int EmbeddingSize { get; }

    /// <summary>Where the weights live and their dtype, recorded in reports (<see cref="RunEnvironment"/>).</summary>
    ComputeDevice Device { get; }

    /// <summary>Encodes image files in the given order; returns CPU float32 [N, EmbeddingSize], not normalized.</summary>
    Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null);
}

/// <summary>Turns texts into vectors. CLIP's text tower is one; ASIF's unimodal text encoders are others.</summary>
public interface ITextEncoder
{
    string Identity { get; }

    int EmbeddingSize { get; }

    /// <summary>Where the weights live and their dtype, recorded in reports (<see cref="RunEnvironment"/>).</summary>
    ComputeDevice Device { get; }

    /// <summary>Encodes texts in the given order; returns CPU float32 [N, EmbeddingSize], not normalized.</summary>
    Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null);
}
