using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Embeddings kept on disk so that evaluating again (another template set, another metric, a rerun) does not
/// encode the same images or prompts twice. An entry is keyed by the SHA-256 of what determines it: the encoder's
/// <c>Identity</c> and either the exact texts in order, or each image's full path and the SHA-256 of its bytes in
/// order. Changing the weights, a prompt, an image file or the image order therefore gives a new key; stale entries
/// are never read, only left behind (delete the folder to reclaim the space).
///
/// Entry format, one file <c>&lt;key&gt;.emb</c> per entry, all little-endian: the 8 ASCII bytes <c>MOLYEMB1</c>,
/// int32 rows, int32 columns, then rows × columns float32 in row-major order. Files are written atomically; a file
/// that does not parse (truncated, other format) counts as a miss and is rewritten.</summary>
public sealed class EmbeddingCache(string folder)
{
    private static readonly byte[] Magic = "MOLYEMB1"u8.ToArray();
    private const int HeaderSize = 16;

    public string Folder { get; } = Path.GetFullPath(folder);

    /// <summary><c>$MOLYNEUX_HOME/cache</c> (see <see cref="MolyneuxHome"/>).</summary>
    public static string DefaultFolder => Path.Combine(MolyneuxHome.Default, "cache");

    public static string KeyForTexts(string encoderIdentity, IReadOnlyList<string> texts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendString(hash, "texts");
        AppendString(hash, encoderIdentity);
        AppendInt(hash, texts.Count);
        foreach (var text in texts) AppendString(hash, text);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads every image file once to hash its content, which costs far less than encoding it.</summary>
    public static string KeyForImages(string encoderIdentity, IReadOnlyList<string> imagePaths)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendString(hash, "images");
        AppendString(hash, encoderIdentity);
        AppendInt(hash, imagePaths.Count);
        foreach (var path in imagePaths)
        {
            var fullPath = Path.GetFullPath(path);
            AppendString(hash, fullPath);
            using var stream = File.OpenRead(fullPath);
            hash.AppendData(SHA256.HashData(stream));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The cached [rows, columns] float32 tensor of <paramref name="key"/>, or the result of
    /// <paramref name="compute"/>, which is then stored.</summary>
    public Tensor GetOrAdd(string key, Func<Tensor> compute)
    {
        var path = Path.Combine(Folder, key + ".emb");
        if (TryRead(path) is { } cached) return cached;
        var computed = compute();
        Write(path, computed);
        return computed;
    }

    private static Tensor? TryRead(string path)
    {
        if (!File.Exists(path)) return null;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderSize || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) return null;
        var rows = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        var columns = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (rows < 0 || columns < 0 || bytes.Length != HeaderSize + 4L * rows * columns) return null;
        var values = new float[rows * columns];
        for (var i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(HeaderSize + 4 * i));
        return tensor(values, [rows, columns]);
    }

    private static void Write(string path, Tensor embeddings)
    {
        if (embeddings.dim() != 2)
            throw new ArgumentException($"expected a [rows, columns] tensor to cache, got shape [{string.Join(", ", embeddings.shape)}]", nameof(embeddings));
        using var cpu = embeddings.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        var bytes = new byte[HeaderSize + 4L * values.Length];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), (int)embeddings.shape[0]);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), (int)embeddings.shape[1]);
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(HeaderSize + 4 * i), values[i]);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    // Length prefixes keep the encoding unambiguous: ["ab", "c"] and ["a", "bc"] hash differently.
    private static void AppendString(IncrementalHash hash, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        AppendInt(hash, bytes.Length);
        hash.AppendData(bytes);
    }

    private static void AppendInt(IncrementalHash hash, int value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, value);
        hash.AppendData(buffer);
    }
}
