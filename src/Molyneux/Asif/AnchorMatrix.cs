using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>How anchor embeddings are kept: float32, float16 (half the bytes), or int8 with one float32 scale per
/// row (a quarter, plus 4 bytes a row): row ≈ scale × int8 values, scale = max |value| / 127.</summary>
public enum AnchorStorage { Fp32, Fp16, Int8 }

/// <summary>The unit-norm embeddings of the anchors in one modality, [anchors, dimension], in their stored precision,
/// held in memory or read from a memory-mapped safetensors file. <see cref="ReadRows"/> gives float32 rows a chunk at
/// a time, so a matrix larger than memory is streamed rather than loaded.
///
/// A centred matrix keeps a <see cref="Centre"/> (the mean of the anchors' raw embeddings when the index was built)
/// that was subtracted from every row before normalising, and is subtracted from every query
/// (<see cref="CentreQueries"/>) too, so that cosines measure directions around the anchors' mean. Encoders whose
/// features all share one direction (a ResNet's post-ReLU features are all ≥ 0) otherwise give every pair a high
/// cosine, and the relative representations lose their contrast.</summary>
public sealed class AnchorMatrix
{
    private readonly Tensor? values;
    private readonly Tensor? scales;
    private readonly SafetensorsFile? file;
    private readonly string name;

    private AnchorMatrix(AnchorStorage storage, long count, int dimension, Tensor? values, Tensor? scales, SafetensorsFile? file, string name,
        Tensor? centre)
    {
        (Storage, Count, Dimension, Centre) = (storage, count, dimension, centre);
        (this.values, this.scales, this.file, this.name) = (values, scales, file, name);
    }

    /// <summary>float32 [dimension] subtracted from the raw embeddings before normalising, or null.</summary>
    public Tensor? Centre { get; }

    public AnchorStorage Storage { get; }

    public long Count { get; }

    public int Dimension { get; }

    /// <summary>Bytes the stored values and scales take (on disk, or in memory when loaded).</summary>
    public long StoredBytes => Count * (Dimension * ElementBytes(Storage) + (Storage == AnchorStorage.Int8 ? sizeof(float) : 0));

    /// <summary>Quantizes raw embedding rows into <paramref name="storage"/>: less <paramref name="centre"/> when
    /// given, then normalized.</summary>
    public static AnchorMatrix FromRows(Tensor rows, AnchorStorage storage, Tensor? centre = null)
    {
        if (rows.dim() != 2) throw new ArgumentException($"expected anchor embeddings [anchors, dimension], got [{string.Join(", ", rows.shape)}]", nameof(rows));
        if (centre is not null && !centre.shape.SequenceEqual([rows.shape[1]]))
            throw new ArgumentException($"a centre of shape [{string.Join(", ", centre.shape)}] for anchors of dimension {rows.shape[1]}", nameof(centre));
        Tensor unit;
        Tensor? kept;
        using (NewDisposeScope())
        {
            kept = centre?.to(ScalarType.Float32).cpu().clone().MoveToOuterDisposeScope();
            unit = Normalized(rows.to(ScalarType.Float32).cpu(), kept).MoveToOuterDisposeScope();
        }
        using (unit)
            return Quantized(unit, storage, kept);
    }

    /// <summary>The same rows in another precision, quantized again from their float32 values (to measure what
    /// quantization costs); the centre is kept.</summary>
    public AnchorMatrix WithStorage(AnchorStorage storage)
    {
        using var rows = ReadRows(0, Count);
        return Quantized(rows, storage, Centre);
    }

    /// <summary>Queries [N, dimension] as the anchors were made: less the centre, normalized; float32 on the CPU.</summary>
    public Tensor CentreQueries(Tensor queries)
    {
        using var scope = NewDisposeScope();
        return Normalized(queries.to(ScalarType.Float32).cpu(), Centre).MoveToOuterDisposeScope();
    }

    private static Tensor Normalized(Tensor rows, Tensor? centre) =>
        nn.functional.normalize(centre is null ? rows : rows - centre, p: 2, dim: 1, eps: 1e-12);

    private static AnchorMatrix Quantized(Tensor unit, AnchorStorage storage, Tensor? centre)
    {
        using var scope = NewDisposeScope();
        Tensor stored;
        Tensor? rowScales = null;
        switch (storage)
        {
            case AnchorStorage.Fp32:
                stored = unit.contiguous();
                break;
            case AnchorStorage.Fp16:
                stored = unit.to(ScalarType.Float16);
                break;
            default:
                rowScales = (unit.abs().amax([1]) / 127).clamp_min(1e-12);
                stored = (unit / rowScales.unsqueeze(1)).round().clamp(-127, 127).to(ScalarType.Int8);
                break;
        }
        return new AnchorMatrix(storage, unit.shape[0], (int)unit.shape[1], stored.MoveToOuterDisposeScope(), rowScales?.MoveToOuterDisposeScope(), null, "", centre);
    }

    /// <summary>The matrix stored under <paramref name="tensorName"/> (and <c>{tensorName}_scales</c> for int8) in
    /// an open file, read from its map on demand.</summary>
    internal static AnchorMatrix Mapped(SafetensorsFile file, string tensorName)
    {
        if (!file.Entries.TryGetValue(tensorName, out var entry) || entry.Shape.Length != 2)
            throw new CheckpointException($"{file.Path}: no 2-D tensor '{tensorName}'");
        var storage = entry.DType switch
        {
            SafetensorsDType.F32 => AnchorStorage.Fp32,
            SafetensorsDType.F16 => AnchorStorage.Fp16,
            SafetensorsDType.I8 => AnchorStorage.Int8,
            var other => throw new CheckpointException($"{file.Path}: '{tensorName}' is {other}; anchors are stored as F32, F16 or I8"),
        };
        if (storage == AnchorStorage.Int8 && (!file.Entries.TryGetValue(ScalesName(tensorName), out var scaleEntry)
                                              || !scaleEntry.Shape.SequenceEqual([entry.Shape[0]]) || scaleEntry.DType != SafetensorsDType.F32))
            throw new CheckpointException($"{file.Path}: int8 '{tensorName}' needs F32 '{ScalesName(tensorName)}' [{entry.Shape[0]}]");
        Tensor? centre = null;
        if (file.Entries.TryGetValue(CentreName(tensorName), out var centreEntry))
        {
            if (!centreEntry.Shape.SequenceEqual([entry.Shape[1]]) || centreEntry.DType != SafetensorsDType.F32)
                throw new CheckpointException($"{file.Path}: '{CentreName(tensorName)}' must be F32 [{entry.Shape[1]}], found {centreEntry.DType} [{string.Join(", ", centreEntry.Shape)}]");
            centre = file.Read(CentreName(tensorName));
        }
        return new AnchorMatrix(storage, entry.Shape[0], (int)entry.Shape[1], null, null, file, tensorName, centre);
    }

    /// <summary>Rows <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 as float32.</summary>
    public Tensor ReadRows(long start, long count)
    {
        using var scope = NewDisposeScope();
        var (stored, rowScales) = StoredRows(start, count);
        var rows = stored.to(ScalarType.Float32);
        if (rowScales is not null) rows = rows * rowScales.unsqueeze(1);
        return rows.MoveToOuterDisposeScope();
    }

    /// <summary>These rows followed by <paramref name="other"/>'s, in memory, each row kept exactly as stored.</summary>
    public AnchorMatrix Append(AnchorMatrix other)
    {
        if (other.Storage != Storage || other.Dimension != Dimension)
            throw new ArgumentException($"cannot append {other.Storage} anchors of dimension {other.Dimension} to {Storage} anchors of dimension {Dimension}");
        if ((Centre is null) != (other.Centre is null) || (Centre is not null && !Centre.allclose(other.Centre!, rtol: 0, atol: 0)))
            throw new ArgumentException("cannot append anchors centred on another mean");
        using var scope = NewDisposeScope();
        var (mine, myScales) = StoredRows(0, Count);
        var (theirs, theirScales) = other.StoredRows(0, other.Count);
        return new AnchorMatrix(Storage, Count + other.Count, Dimension, cat([mine, theirs]).MoveToOuterDisposeScope(),
            myScales is null ? null : cat([myScales, theirScales!]).MoveToOuterDisposeScope(), null, "", Centre);
    }

    /// <summary>The given rows, in that order, in memory, each kept exactly as stored.</summary>
    public AnchorMatrix Select(IReadOnlyList<long> rows)
    {
        using var scope = NewDisposeScope();
        var (stored, rowScales) = StoredRows(0, Count);
        var index = tensor(rows.ToArray());
        return new AnchorMatrix(Storage, rows.Count, Dimension, stored.index_select(0, index).MoveToOuterDisposeScope(),
            rowScales?.index_select(0, index).MoveToOuterDisposeScope(), null, "", Centre);
    }

    /// <summary>The tensors to write under <paramref name="tensorName"/>.</summary>
    internal IEnumerable<KeyValuePair<string, Tensor>> Tensors(string tensorName)
    {
        var (stored, rowScales) = StoredRows(0, Count);
        yield return new(tensorName, stored);
        if (rowScales is not null) yield return new(ScalesName(tensorName), rowScales);
        if (Centre is not null) yield return new(CentreName(tensorName), Centre);
    }

    private (Tensor Values, Tensor? Scales) StoredRows(long start, long count)
    {
        if (file is null)
            return (values!.narrow(0, start, count), scales?.narrow(0, start, count));
        return (file.ReadRows(name, start, count), Storage == AnchorStorage.Int8 ? file.ReadRows(ScalesName(name), start, count) : null);
    }

    private static string ScalesName(string tensorName) => tensorName + "_scales";

    private static string CentreName(string tensorName) => tensorName + "_centre";

    private static int ElementBytes(AnchorStorage storage) => storage switch
    {
        AnchorStorage.Fp32 => 4,
        AnchorStorage.Fp16 => 2,
        _ => 1,
    };
}
