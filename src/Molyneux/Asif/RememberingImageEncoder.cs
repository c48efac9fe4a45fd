using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>An image encoder that encodes each file once and answers again from memory, so that an experiment which
/// builds several indexes over the same images (a validation split's, then the full anchors') pays for encoding once.
/// It owns the remembered rows, not the encoder it wraps.</summary>
public sealed class RememberingImageEncoder(IImageEncoder encoder) : IImageEncoder, IDisposable
{
    private readonly Dictionary<string, Tensor> rows = new(StringComparer.Ordinal);

    public string Identity => encoder.Identity;

    public int EmbeddingSize => encoder.EmbeddingSize;

    public ComputeDevice Device => encoder.Device;

    /// <summary>How many files the wrapped encoder has been asked to encode.</summary>
    public int FilesEncoded { get; private set; }

    public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null)
    {
        var missing = imagePaths.Where(path => !rows.ContainsKey(path)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            using var encoded = encoder.EncodeImages(missing, progress);
            for (var row = 0; row < missing.Count; row++) rows[missing[row]] = encoded[row].clone().DetachFromDisposeScope();
            FilesEncoded += missing.Count;
        }
        if (imagePaths.Count == 0) return empty(0, EmbeddingSize);
        using var scope = NewDisposeScope();
        return stack(imagePaths.Select(path => rows[path]).ToList()).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var row in rows.Values) row.Dispose();
        rows.Clear();
    }
}
