using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>Embeddings already computed, by input (an image's path, a text): what was asked before is answered from
/// memory, the rest is encoded once, in one call. It owns the remembered rows.</summary>
internal sealed class EmbeddingMemory(int embeddingSize) : IDisposable
{
    private readonly Dictionary<string, Tensor> rows = new(StringComparer.Ordinal);

    /// <summary>How many inputs have been encoded.</summary>
    public int Encoded { get; private set; }

    /// <summary>Rows [N, embeddingSize] for <paramref name="inputs"/> in order; <paramref name="encode"/> gets the
    /// inputs not seen before, each once.</summary>
    public Tensor Rows(IReadOnlyList<string> inputs, Func<IReadOnlyList<string>, Tensor> encode)
    {
        var missing = inputs.Where(input => !rows.ContainsKey(input)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            using var encoded = encode(missing);
            for (var row = 0; row < missing.Count; row++) rows[missing[row]] = encoded[row].clone().DetachFromDisposeScope();
            Encoded += missing.Count;
        }
        if (inputs.Count == 0) return empty(0, embeddingSize);
        using var scope = NewDisposeScope();
        return stack(inputs.Select(input => rows[input]).ToList()).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var row in rows.Values) row.Dispose();
        rows.Clear();
    }
}

/// <summary>An image encoder that encodes each file once and answers again from memory, so that an experiment which
/// builds several indexes over the same images (a validation split's, then the full anchors') pays for encoding once.
/// It owns the remembered rows, not the encoder it wraps.</summary>
public sealed class RememberingImageEncoder(IImageEncoder encoder) : IImageEncoder, IDisposable
{
    private readonly EmbeddingMemory memory = new(encoder.EmbeddingSize);

    public string Identity => encoder.Identity;

    public int EmbeddingSize => encoder.EmbeddingSize;

    public ComputeDevice Device => encoder.Device;

    /// <summary>How many files the wrapped encoder has been asked to encode.</summary>
    public int FilesEncoded => memory.Encoded;

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null) =>
        memory.Rows(imagePaths, missing => encoder.EncodeImages(missing, progress));

    public void Dispose() => memory.Dispose();
}

/// <summary>The same for texts: each distinct text (an anchor caption, a prompt) encoded once.</summary>
public sealed class RememberingTextEncoder(ITextEncoder encoder) : ITextEncoder, IDisposable
{
    private readonly EmbeddingMemory memory = new(encoder.EmbeddingSize);

    public string Identity => encoder.Identity;

    public int EmbeddingSize => encoder.EmbeddingSize;

    public ComputeDevice Device => encoder.Device;

    /// <summary>How many texts the wrapped encoder has been asked to encode.</summary>
    public int TextsEncoded => memory.Encoded;

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        memory.Rows(texts, missing => encoder.EncodeTexts(missing, progress));

    public void Dispose() => memory.Dispose();
}
