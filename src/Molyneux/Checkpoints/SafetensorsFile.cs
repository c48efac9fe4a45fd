using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.MemoryMappedFiles;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Molyneux.Runtime;
using TorchSharp;

namespace Molyneux.Checkpoints;

/// <summary>The element types a safetensors header may name that TorchSharp can hold. Member names are the header's
/// spellings, so <c>ToString()</c> is what the writer puts in the file.</summary>
public enum SafetensorsDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL }

public static class SafetensorsDTypes
{
    public static int ByteSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        SafetensorsDType.I8 or SafetensorsDType.U8 or SafetensorsDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static torch.ScalarType ToScalarType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 => torch.ScalarType.Float64,
        SafetensorsDType.F32 => torch.ScalarType.Float32,
        SafetensorsDType.F16 => torch.ScalarType.Float16,
        SafetensorsDType.BF16 => torch.ScalarType.BFloat16,
        SafetensorsDType.I64 => torch.ScalarType.Int64,
        SafetensorsDType.I32 => torch.ScalarType.Int32,
        SafetensorsDType.I16 => torch.ScalarType.Int16,
        SafetensorsDType.I8 => torch.ScalarType.Int8,
        SafetensorsDType.U8 => torch.ScalarType.Byte,
        SafetensorsDType.BOOL => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>False for the types safetensors files here cannot hold (complex numbers, quantized types).</summary>
    public static bool TryFromScalarType(torch.ScalarType scalarType, out SafetensorsDType dtype)
    {
        foreach (var candidate in Enum.GetValues<SafetensorsDType>())
            if (candidate.ToScalarType() == scalarType)
            {
                dtype = candidate;
                return true;
            }
        dtype = default;
        return false;
    }

    /// <summary>Matches the header spelling exactly. <see cref="Enum.TryParse{TEnum}(string, out TEnum)"/> would also
    /// accept numbers and other casings, which are not valid dtypes.</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype)
    {
        foreach (var candidate in Enum.GetValues<SafetensorsDType>())
            if (candidate.ToString() == name)
            {
                dtype = candidate;
                return true;
            }
        dtype = default;
        return false;
    }
}

/// <summary>One tensor of the header. <see cref="Begin"/> and <see cref="End"/> are byte offsets into the data area
/// (the bytes after the header), end exclusive, as in the file.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End);

/// <summary>A safetensors file: an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype,
/// shape and byte range, then the raw little-endian row-major tensor bytes. The file is memory-mapped, so opening a
/// large checkpoint costs address space, not memory; <see cref="Read"/> copies one tensor at a time.</summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation's limit; it stops a corrupt length from allocating gigabytes.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>A valid header nests three deep (root, entry, shape). The slack lets a slightly wrong header be
    /// reported by what is wrong with it, while pathological nesting is still refused by the parser.</summary>
    private const int MaxJsonDepth = 8;

    /// <summary>Spans are indexed by int, so tensors pass between files and TorchSharp in pieces of at most this
    /// many bytes.</summary>
    private const long ChunkBytes = 1L << 28;

    private static readonly byte[] GzipMagic = [0x1f, 0x8b];

    private readonly MemoryMappedFile map;
    private readonly MemoryMappedViewAccessor view;
    private readonly long dataStart;
    private bool disposed;

    public string Path { get; }

    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map, empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file that is mapped: <see cref="Path"/> itself, or the already deleted (on Windows: deleted on
    /// close) temporary file a gzip-compressed checkpoint was decompressed into.</summary>
    internal string ContentPath { get; }

    private SafetensorsFile(string path, FileStream content, Header header)
    {
        Path = path;
        ContentPath = content.Name;
        Entries = header.Entries;
        Metadata = header.Metadata;
        dataStart = header.DataStart;
        map = MemoryMappedFile.CreateFromFile(content, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            view = this.map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch
        {
            this.map.Dispose();
            throw;
        }
    }

    /// <summary>Opens a <c>.safetensors</c> file, or a gzip-compressed one (recognised by its magic bytes, whatever
    /// its name), and checks the whole header before returning.</summary>
    public static SafetensorsFile Open(string path)
    {
        var content = OpenContent(path);
        try
        {
            var header = ReadHeader(path, content);
            return new SafetensorsFile(path, content, header);
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    /// <summary>A new CPU tensor holding a bit-exact copy of the stored bytes, in the stored dtype and shape.</summary>
    public torch.Tensor Read(string name)
    {
        var entry = Entry(name);
        return ReadBytes(entry, entry.Shape, byteOffset: 0);
    }

    /// <summary>Rows <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 of a stored
    /// tensor (along its first dimension), copied from the map without touching the other rows: a matrix larger than
    /// memory can be read a chunk at a time.</summary>
    public torch.Tensor ReadRows(string name, long start, long count)
    {
        var entry = Entry(name);
        if (entry.Shape.Length == 0 || start < 0 || count < 0 || start + count > entry.Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: rows {start}..{start + count} of '{name}' [{string.Join(", ", entry.Shape)}]");
        var rowBytes = entry.Shape[0] == 0 ? 0 : (entry.End - entry.Begin) / entry.Shape[0];
        return ReadBytes(entry, [count, .. entry.Shape[1..]], start * rowBytes);
    }

    private SafetensorsEntry Entry(string name)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Entries.TryGetValue(name, out var entry) ? entry : throw new CheckpointException($"{Path}: no tensor named '{name}'");
    }

    private torch.Tensor ReadBytes(SafetensorsEntry entry, long[] shape, long byteOffset)
    {
        var tensor = torch.empty(shape, entry.DType.ToScalarType());
        try
        {
            var handle = view.SafeMemoryMappedViewHandle;
            var start = view.PointerOffset + dataStart + entry.Begin + byteOffset;
            ForEachChunk(tensor, (chunk, offset) => handle.ReadSpan((ulong)(start + offset), chunk));
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.Dispose();
        map.Dispose();
    }

    /// <summary>Writes <paramref name="tensors"/> in the order given, atomically: the target is either the complete
    /// new file or untouched. Each tensor is moved to the CPU and made contiguous on its own while it is written, so
    /// writing a model never holds a second copy of all of it. The header needs every shape before the first data
    /// byte, so <paramref name="tensors"/> is enumerated once, up front: a lazy sequence creates all its tensors.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.ToList();
        var header = BuildHeader(path, items, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var (_, tensor) in items)
            {
                using var cpu = tensor.cpu();
                using var dense = cpu.contiguous();
                ForEachChunk(dense, (chunk, _) => stream.Write(chunk));
            }
        });
    }

    private delegate void ChunkAction(Span<byte> chunk, long offset);

    /// <summary>Hands the bytes of a contiguous CPU tensor to <paramref name="action"/> piece by piece, each with its
    /// byte offset in the tensor. Both directions copy straight between native memory and the file: the host is
    /// little-endian like the format, so bytes need no reordering.</summary>
    private static void ForEachChunk(torch.Tensor dense, ChunkAction action)
    {
        var itemSize = dense.element_size();
        var itemsPerChunk = ChunkBytes / itemSize;
        using var flat = dense.reshape(-1);
        var count = flat.shape[0];
        for (long first = 0; first < count; first += itemsPerChunk)
        {
            using var piece = flat.narrow(0, first, Math.Min(itemsPerChunk, count - first));
            action(piece.bytes, first * itemSize);
        }
    }

    private static FileStream OpenContent(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot open ({e.Message})", e);
        }
        bool isGzip;
        try
        {
            Span<byte> magic = stackalloc byte[GzipMagic.Length];
            isGzip = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length && magic.SequenceEqual(GzipMagic);
            file.Position = 0;
        }
        catch
        {
            file.Dispose();
            throw;
        }
        if (!isGzip) return file;
        using (file) return Decompress(path, file);
    }

    /// <summary>A memory map needs a real file, so the decompressed bytes go to a temporary file rather than to
    /// managed memory, which would double the footprint of a large checkpoint.</summary>
    private static FileStream Decompress(string path, FileStream compressed)
    {
        var temporaryPath = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"molyneux-{Guid.NewGuid():N}.safetensors");
        var temporary = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose);
        try
        {
            // Unix keeps an unlinked file alive while it is open or mapped; unlinking now means even a crash leaves
            // nothing behind. Windows cannot unlink an open file and relies on DeleteOnClose.
            if (!OperatingSystem.IsWindows()) File.Delete(temporaryPath);
            using (var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true))
                gzip.CopyTo(temporary);
            temporary.Position = 0;
            return temporary;
        }
        catch (InvalidDataException e)
        {
            temporary.Dispose();
            throw new CheckpointException($"{path}: corrupt gzip data ({e.Message})", e);
        }
        catch
        {
            temporary.Dispose();
            throw;
        }
    }

    private sealed record Header(IReadOnlyDictionary<string, SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);

    private static Header ReadHeader(string path, FileStream content)
    {
        var fileLength = content.Length;
        if (fileLength < sizeof(ulong))
            throw Malformed(path, $"the file is {fileLength} bytes long, shorter than 8 bytes (the header length alone takes 8)");
        Span<byte> prefix = stackalloc byte[sizeof(ulong)];
        content.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw Malformed(path, $"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        var available = fileLength - sizeof(ulong);
        if ((long)headerLength > available)
            throw Malformed(path, $"header length {headerLength} is larger than the file ({available} bytes follow the length; truncated?)");
        var json = new byte[headerLength];
        content.ReadExactly(json);
        var dataStart = sizeof(ulong) + (long)headerLength;
        var (entries, metadata) = ParseHeader(path, json, fileLength - dataStart);
        return new Header(entries, metadata, dataStart);
    }

    private static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] json, long dataLength)
    {
        // The JSON parser would accept some invalid UTF-8 and only fail later when a string is decoded; checking
        // first gives one clear message.
        if (!Utf8.IsValid(json))
            throw Malformed(path, "header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw Malformed(path, $"header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Malformed(path, $"header is a JSON {root.ValueKind}, expected an object");
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            Dictionary<string, string>? metadata = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (metadata is not null)
                        throw Malformed(path, $"'{MetadataKey}' appears twice in the header");
                    metadata = ParseMetadata(path, property.Value);
                }
                else if (!entries.TryAdd(property.Name, ParseEntry(path, property.Name, property.Value, dataLength)))
                {
                    throw Malformed(path, $"tensor '{property.Name}' appears twice in the header");
                }
            }
            CheckLayout(path, entries.Values, dataLength);
            return (entries, metadata ?? []);
        }
    }

    private static Dictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Malformed(path, $"'{MetadataKey}' is a JSON {value.ValueKind}, expected an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
                throw Malformed(path, $"'{MetadataKey}' value '{property.Name}' is a JSON {property.Value.ValueKind}, expected a string");
            if (!metadata.TryAdd(property.Name, property.Value.GetString()!))
                throw Malformed(path, $"'{MetadataKey}' key '{property.Name}' appears twice");
        }
        return metadata;
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Malformed(path, $"tensor '{name}': entry is a JSON {value.ValueKind}, expected an object");

        var dtypeValue = RequireProperty(path, name, value, "dtype");
        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw Malformed(path, $"tensor '{name}': 'dtype' is a JSON {dtypeValue.ValueKind}, expected a string");
        var dtypeName = dtypeValue.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype))
            throw Malformed(path, $"tensor '{name}': unknown dtype '{dtypeName}' (supported: {string.Join(", ", Enum.GetValues<SafetensorsDType>())})");

        var shape = ReadIntegers(path, name, value, "shape");
        if (shape.Any(dimension => dimension < 0))
            throw Malformed(path, $"tensor '{name}': negative dimension in shape {Show(shape)}");

        var offsets = ReadIntegers(path, name, value, "data_offsets");
        if (offsets.Length != 2)
            throw Malformed(path, $"tensor '{name}': 'data_offsets' has {offsets.Length} values, expected 2 (begin, end)");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
            throw Malformed(path, $"tensor '{name}': data_offsets {Show(offsets)} end before begin");
        if (begin < 0 || end > dataLength)
            throw Malformed(path, $"tensor '{name}': data_offsets {Show(offsets)} out of range of the data area (0..{dataLength})");

        // A corrupt shape can multiply past long.MaxValue and wrap to exactly the stored byte count.
        long expected;
        try
        {
            expected = shape.Aggregate((long)dtype.ByteSize(), (product, dimension) => checked(product * dimension));
        }
        catch (OverflowException)
        {
            throw Malformed(path, $"tensor '{name}': shape {Show(shape)} overflows: too many elements");
        }
        if (end - begin != expected)
            throw Malformed(path, $"tensor '{name}': data_offsets {Show(offsets)} span {end - begin} bytes, but dtype {dtype} and shape {Show(shape)} need {expected}");

        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static JsonElement RequireProperty(string path, string name, JsonElement entry, string key) =>
        entry.TryGetProperty(key, out var value) ? value : throw Malformed(path, $"tensor '{name}': missing '{key}'");

    private static long[] ReadIntegers(string path, string name, JsonElement entry, string key)
    {
        var value = RequireProperty(path, name, entry, key);
        if (value.ValueKind != JsonValueKind.Array)
            throw Malformed(path, $"tensor '{name}': '{key}' is a JSON {value.ValueKind}, expected an array of integers");
        return value.EnumerateArray()
            .Select(item => item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var integer)
                ? integer
                : throw Malformed(path, $"tensor '{name}': '{key}' holds {item.GetRawText()}, expected integers"))
            .ToArray();
    }

    /// <summary>The format requires the tensors to tile the data area exactly: no byte shared, none left over. A
    /// file that breaks this is corrupt or crafted, and reading it would silently alias or skip data.</summary>
    private static void CheckLayout(string path, IEnumerable<SafetensorsEntry> entries, long dataLength)
    {
        long covered = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in entries.OrderBy(entry => entry.Begin).ThenBy(entry => entry.End))
        {
            if (entry.Begin < covered)
                throw Malformed(path, $"tensor '{entry.Name}' (bytes {entry.Begin}..{entry.End}) overlaps tensor '{previous!.Name}' (bytes {previous.Begin}..{previous.End})");
            if (entry.Begin > covered)
                throw Malformed(path, $"data area has a gap: bytes {covered}..{entry.Begin} belong to no tensor (before '{entry.Name}')");
            covered = entry.End;
            previous = entry;
        }
        if (covered != dataLength)
            throw Malformed(path, $"data area not covered: bytes {covered}..{dataLength} belong to no tensor");
    }

    private static CheckpointException Malformed(string path, string problem, Exception? inner = null) =>
        new($"{path}: not a valid safetensors file: {problem}", inner);

    private static string Show(long[] values) => $"[{string.Join(", ", values)}]";

    private static byte[] BuildHeader(string path, List<KeyValuePair<string, torch.Tensor>> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        // The header is read by JSON parsers, never embedded in HTML, so only what JSON itself requires is escaped
        // and non-ASCII names stay readable.
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                    writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var (name, tensor) in items)
            {
                if (name == MetadataKey)
                    throw new CheckpointException($"{path}: cannot write a tensor named '{MetadataKey}', the name is reserved for the metadata");
                if (!names.Add(name))
                    throw new CheckpointException($"{path}: cannot write tensor '{name}' twice (duplicate name)");
                if (!SafetensorsDTypes.TryFromScalarType(tensor.dtype, out var dtype))
                    throw new CheckpointException($"{path}: cannot write tensor '{name}': dtype {tensor.dtype} has no safetensors equivalent here");
                var byteCount = tensor.numel() * dtype.ByteSize();
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype.ToString());
                writer.WriteStartArray("shape");
                foreach (var dimension in tensor.shape)
                    writer.WriteNumberValue(dimension);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + byteCount);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += byteCount;
            }
            writer.WriteEndObject();
        }
        // Padding to a multiple of 8 keeps the data area, and so every 8-byte element, aligned in a mapped file.
        var padded = (json.WrittenCount + 7) / 8 * 8;
        if (padded > MaxHeaderBytes)
            throw new CheckpointException($"{path}: cannot write a header of {padded} bytes, over the limit of {MaxHeaderBytes} readers accept");
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }
}
