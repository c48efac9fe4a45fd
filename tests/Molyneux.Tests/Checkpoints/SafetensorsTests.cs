using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Molyneux.Checkpoints;
using TorchSharp;

namespace Molyneux.Tests.Checkpoints;

public sealed class SafetensorsTests
{
    public static TheoryData<string> GoldenFiles => new()
    {
        "model_a/openai/model.safetensors.gz",
        "model_a/hf/model.safetensors.gz",
        "model_a/golden_io.safetensors",
        "model_b/openai/model.safetensors.gz",
        "model_b/hf/model.safetensors.gz",
        "model_b/golden_io.safetensors",
    };

    public static TheoryData<string> GoldenModels => new()
    {
        "model_a/openai/model.safetensors.gz",
        "model_a/hf/model.safetensors.gz",
        "model_b/openai/model.safetensors.gz",
        "model_b/hf/model.safetensors.gz",
    };

    public static TheoryData<SafetensorsDType> DTypes => new(Enum.GetValues<SafetensorsDType>());

    private static readonly Lazy<JsonDocument> Manifest =
        new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Golden, "MANIFEST.json"))));

    private static JsonElement ManifestFile(string relative) =>
        Manifest.Value.RootElement.GetProperty("files").GetProperty("clip/" + relative);

    [Theory]
    [MemberData(nameof(GoldenFiles))]
    public void Safetensors_GoldenFile_MatchesManifestListing(string relative)
    {
        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(TestPaths.GoldenClip(relative));
        var listing = Manifest.Value.RootElement.GetProperty("safetensors_contents").GetProperty("clip/" + relative)
            .EnumerateArray()
            .ToDictionary(
                tensor => tensor.GetProperty("name").GetString()!,
                tensor => (DType: tensor.GetProperty("dtype").GetString()!, Shape: tensor.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray()));

        Assert.Equal(listing.Keys.Order(StringComparer.Ordinal), file.Entries.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, expected) in listing)
        {
            var entry = file.Entries[name];
            Assert.Equal(expected.DType, entry.DType.ToString());
            Assert.Equal(expected.Shape, entry.Shape);
            var tensor = file.Read(name);
            Assert.Equal(entry.DType.ToScalarType(), tensor.dtype);
            Assert.Equal(expected.Shape, tensor.shape);
        }
        Assert.Equal(relative[..relative.IndexOf('/')], file.Metadata["model"]);
    }

    [Fact]
    public void Safetensors_GoldenZeroDimensionalTensor_ReadsAsScalar()
    {
        using var file = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"));
        using var logitScale = file.Read("logit_scale");
        Assert.Empty(logitScale.shape);
        Assert.True(float.IsFinite(logitScale.item<float>()));
    }

    /// <summary>Reading every tensor and writing them back in the file's order must reproduce the decompressed file
    /// exactly; the manifest's hash of the decompressed bytes makes that checkable without trusting the reader.</summary>
    [Theory]
    [MemberData(nameof(GoldenModels))]
    public void Safetensors_GoldenModelRewritten_HashesToManifestUncompressedSha256(string relative)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TestPaths.TempFolder();
        var target = folder.File("rewritten.safetensors");
        using (var file = SafetensorsFile.Open(TestPaths.GoldenClip(relative)))
        {
            var inFileOrder = file.Entries.Values.OrderBy(entry => entry.Begin)
                .Select(entry => KeyValuePair.Create(entry.Name, file.Read(entry.Name)))
                .ToList();
            SafetensorsFile.Write(target, inFileOrder, file.Metadata);
        }

        var expected = ManifestFile(relative);
        Assert.Equal(expected.GetProperty("uncompressed_bytes").GetInt64(), new FileInfo(target).Length);
        using var written = File.OpenRead(target);
        Assert.Equal(expected.GetProperty("uncompressed_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(written)));
    }

    [Theory]
    [MemberData(nameof(GoldenFiles))]
    public void Safetensors_GoldenFileWriteThenRead_IsBitExact(string relative)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TestPaths.TempFolder();
        var target = folder.File("copy.safetensors");
        using var original = SafetensorsFile.Open(TestPaths.GoldenClip(relative));
        SafetensorsFile.Write(target, original.Entries.Keys.Select(name => KeyValuePair.Create(name, original.Read(name))), original.Metadata);

        using var copy = SafetensorsFile.Open(target);
        Assert.Equal(original.Metadata.ToList(), copy.Metadata.ToList());
        Assert.Equal(original.Entries.Keys, copy.Entries.Keys);
        foreach (var name in original.Entries.Keys)
        {
            var (expected, actual) = (original.Read(name), copy.Read(name));
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.bytes.SequenceEqual(actual.bytes), $"tensor '{name}' differs");
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Safetensors_RoundTrip_IsBitExactForEveryDType(SafetensorsDType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TestPaths.TempFolder();
        var random = new Random(1234 + (int)dtype);
        var shapes = new Dictionary<string, long[]>
        {
            ["matrix"] = [3, 5],
            ["scalar"] = [],
            ["empty"] = [0],
            ["empty_inside"] = [2, 0, 3],
            ["cube"] = [2, 3, 4],
        };
        var tensors = shapes.ToDictionary(pair => pair.Key, pair => RandomTensor(random, dtype, pair.Value));
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["note"] = "café crème 🍮 \"quoted\"\n\ttabbed \\ back",
            ["empty"] = "",
        };
        var path = folder.File("all.safetensors");

        SafetensorsFile.Write(path, tensors, metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata.ToList(), file.Metadata.ToList());
        Assert.Equal(shapes.Keys, file.Entries.Keys);
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(dtype, file.Entries[name].DType);
            Assert.Equal(shapes[name], file.Entries[name].Shape);
            var actual = file.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(shapes[name], actual.shape);
            Assert.Equal(expected.bytes.ToArray(), actual.bytes.ToArray());
        }
    }

    /// <summary>Random bit patterns, so float NaN payloads, infinities and subnormals must survive too; booleans stay
    /// 0 or 1, the only values torch gives meaning.</summary>
    private static torch.Tensor RandomTensor(Random random, SafetensorsDType dtype, long[] shape)
    {
        var tensor = torch.empty(shape, dtype.ToScalarType());
        var bytes = new byte[tensor.numel() * dtype.ByteSize()];
        random.NextBytes(bytes);
        if (dtype == SafetensorsDType.BOOL)
            for (var i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        tensor.bytes = bytes;
        return tensor;
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Safetensors_DTypeHelpers_AgreeWithTorch(SafetensorsDType dtype)
    {
        using var probe = torch.empty(1, dtype.ToScalarType());
        Assert.Equal((long)dtype.ByteSize(), probe.element_size());
        Assert.True(SafetensorsDTypes.TryFromScalarType(dtype.ToScalarType(), out var back));
        Assert.Equal(dtype, back);
        Assert.True(SafetensorsDTypes.TryParse(dtype.ToString(), out var parsed));
        Assert.Equal(dtype, parsed);
        Assert.False(SafetensorsDTypes.TryParse(dtype.ToString().ToLowerInvariant(), out _));
        Assert.False(SafetensorsDTypes.TryParse(((int)dtype).ToString(), out _));
    }

    [Fact]
    public void Safetensors_DTypeHelpers_RejectComplex()
    {
        Assert.False(SafetensorsDTypes.TryFromScalarType(torch.ScalarType.ComplexFloat32, out _));
    }

    [Fact]
    public void Safetensors_Write_PadsHeaderAndLaysOutDataInGivenOrder()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("layout.safetensors");
        using var b = torch.arange(3, torch.ScalarType.Float64);
        using var a = torch.arange(5, torch.ScalarType.Byte);
        using var c = torch.ones(2, 2);

        SafetensorsFile.Write(path, [KeyValuePair.Create("b", b), KeyValuePair.Create("a", a), KeyValuePair.Create("c", c)]);

        var raw = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0, headerLength % 8);
        var header = Encoding.UTF8.GetString(raw, 8, (int)headerLength);
        Assert.EndsWith("}", header.TrimEnd(' '));
        using var json = JsonDocument.Parse(header);
        Assert.Equal(new[] { "b", "a", "c" }, json.RootElement.EnumerateObject().Select(property => property.Name));
        Assert.Equal(8 + headerLength + 24 + 5 + 16, raw.Length);

        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Metadata);
        Assert.Equal((0L, 24L), (file.Entries["b"].Begin, file.Entries["b"].End));
        Assert.Equal((24L, 29L), (file.Entries["a"].Begin, file.Entries["a"].End));
        Assert.Equal((29L, 45L), (file.Entries["c"].Begin, file.Entries["c"].End));
    }

    [Fact]
    public void Safetensors_Write_StoresNonContiguousTensorInLogicalOrder()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("transposed.safetensors");
        var transposed = torch.arange(6, torch.ScalarType.Float32).reshape(2, 3).t();
        Assert.False(transposed.is_contiguous());

        SafetensorsFile.Write(path, [KeyValuePair.Create("t", transposed)]);

        using var file = SafetensorsFile.Open(path);
        var read = file.Read("t");
        Assert.Equal(new long[] { 3, 2 }, read.shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, read.data<float>().ToArray());
    }

    [Fact]
    public void Safetensors_WriteNoTensors_ReadsBackEmpty()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("empty.safetensors");

        SafetensorsFile.Write(path, []);

        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Entries);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Safetensors_WriteDuplicateName_IsRejectedAndLeavesExistingFileUntouched()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("model.safetensors");
        using var tensor = torch.ones(2);
        SafetensorsFile.Write(path, [KeyValuePair.Create("x", tensor)]);
        var before = File.ReadAllBytes(path);

        var error = Assert.Throws<CheckpointException>(() =>
            SafetensorsFile.Write(path, [KeyValuePair.Create("y", tensor), KeyValuePair.Create("y", tensor)]));

        Assert.Contains("duplicate", error.Message);
        Assert.Contains("'y'", error.Message);
        Assert.Contains(path, error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Safetensors_WriteUnsupportedDType_LeavesNoFile()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("complex.safetensors");
        using var good = torch.ones(2);
        using var complex = torch.zeros(2, torch.ScalarType.ComplexFloat32);

        var error = Assert.Throws<CheckpointException>(() =>
            SafetensorsFile.Write(path, [KeyValuePair.Create("good", good), KeyValuePair.Create("z", complex)]));

        Assert.Contains("'z'", error.Message);
        Assert.Contains("ComplexFloat32", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    public void Safetensors_WriteReservedMetadataName_IsRejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("reserved.safetensors");
        using var tensor = torch.ones(1);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Write(path, [KeyValuePair.Create("__metadata__", tensor)]));

        Assert.Contains("reserved", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    public void Safetensors_ReadUnknownName_NamesFileAndTensor()
    {
        var path = TestPaths.GoldenClip("model_a/golden_io.safetensors");
        using var file = SafetensorsFile.Open(path);

        var error = Assert.Throws<CheckpointException>(() => file.Read("no.such.tensor"));

        Assert.Contains(path, error.Message);
        Assert.Contains("'no.such.tensor'", error.Message);
    }

    [Fact]
    public void Safetensors_OpenMissingFile_IsCheckpointException()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("absent.safetensors");

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void Safetensors_GzipTemporaryFile_IsGoneAfterDispose()
    {
        var path = TestPaths.GoldenClip("model_a/hf/model.safetensors.gz");
        var file = SafetensorsFile.Open(path);
        Assert.Equal(path, file.Path);
        Assert.NotEqual(Path.GetFullPath(path), Path.GetFullPath(file.ContentPath));

        file.Dispose();

        Assert.False(File.Exists(file.ContentPath));
        Assert.Throws<ObjectDisposedException>(() => file.Read("logit_scale"));
    }

    [Fact]
    public void Safetensors_GzipMagic_IsRecognisedWhateverTheFileName()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("renamed.safetensors");
        File.Copy(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"), path);

        using var file = SafetensorsFile.Open(path);

        Assert.True(file.Entries.ContainsKey("logit_scale"));
    }

    [Fact]
    public void Safetensors_CorruptGzip_IsCheckpointException()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("corrupt.safetensors.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff]);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("gzip", error.Message);
    }

    [Fact]
    public void Safetensors_TruncatedGzip_IsCheckpointException()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("truncated.safetensors.gz");
        var compressed = File.ReadAllBytes(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"));
        File.WriteAllBytes(path, compressed[..(compressed.Length / 2)]);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData(4, "shorter than 8 bytes")]
    [InlineData(100, "larger than the file")]
    [InlineData(7_000_000, "out of range")]
    [InlineData(14_092_947, "out of range")]
    public void Safetensors_TruncatedCopyOfGoldenModel_IsRejected(int keptBytes, string problem)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("truncated.safetensors");
        using (var gzip = new GZipStream(File.OpenRead(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz")), CompressionMode.Decompress))
        using (var truncated = File.Create(path))
        {
            var buffer = new byte[keptBytes];
            gzip.ReadExactly(buffer);
            truncated.Write(buffer);
        }

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Safetensors_HeaderLengthOverLimit_IsRejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("huge-header.safetensors");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, SafetensorsFile.MaxHeaderBytes + 1);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("exceeds the limit", error.Message);
    }

    [Fact]
    public void Safetensors_HeaderLengthNearUInt64Max_IsRejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("wrapped-header.safetensors");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains("exceeds the limit", error.Message);
    }

    [Fact]
    public void Safetensors_HeaderNotUtf8_IsRejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("latin1.safetensors");
        WriteRaw(path, [.. "{\"caf"u8, 0xe9, .. "\":{}}"u8], dataBytes: 0);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not valid UTF-8", error.Message);
    }

    private const string F32Pair = """{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""";

    [Theory]
    [InlineData("", 0, "not valid JSON")]
    [InlineData("""{"t":""", 0, "not valid JSON")]
    [InlineData("""{"__metadata__":{"a":[[[[[[[[[[]]]]]]]]]]}}""", 0, "not valid JSON")]
    [InlineData("[1, 2]", 0, "header is a JSON Array, expected an object")]
    [InlineData("5", 0, "header is a JSON Number, expected an object")]
    [InlineData("""{"t":5}""", 0, "tensor 't': entry is a JSON Number, expected an object")]
    [InlineData("""{"t":{"shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 't': missing 'dtype'")]
    [InlineData("""{"t":{"dtype":"F32","data_offsets":[0,4]}}""", 4, "tensor 't': missing 'shape'")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1]}}""", 4, "tensor 't': missing 'data_offsets'")]
    [InlineData("""{"t":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}""", 4, "'dtype' is a JSON Number, expected a string")]
    [InlineData("""{"t":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}""", 4, "'shape' is a JSON String, expected an array")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "'shape' holds 1.5, expected integers")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}""", 4, "'data_offsets' holds \"0\", expected integers")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":{"begin":0}}}""", 4, "'data_offsets' is a JSON Object")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 8, "'data_offsets' has 3 values, expected 2")]
    [InlineData("""{"t":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}""", 4, "unknown dtype 'F12'")]
    [InlineData("""{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4, "unknown dtype 'f32'")]
    [InlineData("""{"t":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}}""", 4, "negative dimension in shape [-1, 4]")]
    [InlineData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "out of range")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4, "out of range")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "end before begin")]
    [InlineData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "span 4 bytes, but dtype F32 and shape [2] need 8")]
    [InlineData("""{"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}""", 0, "overflows")]
    [InlineData("""{"t":{"dtype":"I64","shape":[2305843009213693952],"data_offsets":[0,0]}}""", 0, "overflows")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "tensor 'b' (bytes 4..8) overlaps tensor 'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}""", 8, "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "gap: bytes 4..8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "gap: bytes 0..4")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "not covered: bytes 4..8")]
    [InlineData("{}", 4, "not covered: bytes 0..4")]
    [InlineData("""{"t":""" + F32Pair + ""","t":""" + F32Pair + "}", 4, "tensor 't' appears twice")]
    [InlineData("""{"__metadata__":[1]}""", 0, "'__metadata__' is a JSON Array, expected an object of strings")]
    [InlineData("""{"__metadata__":{"a":1}}""", 0, "'__metadata__' value 'a' is a JSON Number, expected a string")]
    [InlineData("""{"__metadata__":{"a":null}}""", 0, "'__metadata__' value 'a' is a JSON Null, expected a string")]
    [InlineData("""{"__metadata__":{},"__metadata__":{}}""", 0, "'__metadata__' appears twice")]
    public void Safetensors_MalformedHeader_IsRejectedNamingTheProblem(string header, int dataBytes, string problem)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("malformed.safetensors");
        WriteRaw(path, Encoding.UTF8.GetBytes(header), dataBytes);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"I8","shape":[3,0],"data_offsets":[4,4]}}""", 4)]
    [InlineData("""{"__metadata__":{},"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},"extra":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}""", 2)]
    [InlineData("{}", 0)]
    public void Safetensors_HandCraftedValidHeader_IsAccepted(string header, int dataBytes)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("valid.safetensors");
        WriteRaw(path, Encoding.UTF8.GetBytes(header), dataBytes);

        using var file = SafetensorsFile.Open(path);

        foreach (var name in file.Entries.Keys)
        {
            using var tensor = file.Read(name);
            Assert.Equal(file.Entries[name].Shape, tensor.shape);
        }
    }

    [Fact]
    public void Safetensors_ShorterThanEightBytes_IsRejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("shorter than 8 bytes", error.Message);
    }

    private static void WriteRaw(string path, byte[] header, int dataBytes)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
