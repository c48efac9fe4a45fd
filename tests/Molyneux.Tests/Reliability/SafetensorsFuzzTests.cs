using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Molyneux.Checkpoints;
using TorchSharp;
using Xunit.Abstractions;

namespace Molyneux.Tests.Reliability;

/// <summary>Fuzzes <see cref="SafetensorsFile.Open"/> and <see cref="SafetensorsFile.Read"/>: a file either opens
/// and every tensor it lists reads back with its declared shape and size, or opening throws
/// <see cref="CheckpointException"/>.</summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>A small real file with every kind of entry a reader meets: several dtypes, a scalar, an empty tensor,
    /// a non-ASCII name and metadata.</summary>
    private static readonly Lazy<byte[]> Seed = new(() =>
    {
        using var folder = new TestPaths.TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = folder.File("seed.safetensors");
        SafetensorsFile.Write(path,
        [
            new("weight", torch.arange(6, torch.ScalarType.Float32).reshape(2, 3)),
            new("bias", torch.ones(3, torch.ScalarType.BFloat16)),
            new("ids", torch.tensor(new long[] { 7, -7 })),
            new("mask", torch.zeros(0, torch.ScalarType.Bool)),
            new("scale", torch.tensor(2.5)),
            new("café", torch.arange(4, torch.ScalarType.Byte).reshape(4, 1)),
        ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz seed" });
        return File.ReadAllBytes(path);
    });

    private static byte[] Gzip(byte[] bytes)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
            gzip.Write(bytes);
        return compressed.ToArray();
    }

    private static (JsonNode Header, byte[] Data) Split(byte[] file)
    {
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (JsonNode.Parse(file.AsSpan(8, length))!, file[(8 + length)..]);
    }

    private static byte[] Join(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }

    private static readonly string[] DTypes = [.. Enum.GetValues<SafetensorsDType>().Select(d => d.ToString()), "F8_E5M2", "C64", "f32", ""];

    /// <summary>A header of entries that look right, built from small and edge-case numbers, so that some are valid
    /// and the rest fail deep in the checks, not at the first field.</summary>
    private static Gen<Mutant> PlausibleHeaders()
    {
        var dimension = Gen.Frequency((6, Gen.Choose(0, 4).Select(d => (long)d)), (1, Gen.Elements(Mutations.InterestingIntegers)));
        var shape = Gen.Frequency(
            (6, Gen.Choose(0, 4).SelectMany(rank => Gen.ListOf(dimension, rank))),
            // Ranks beyond what torch supports, of dimensions that keep the byte count valid.
            (1, from rank in Gen.Choose(60, 100) from size in Gen.Elements(0L, 1L) select Enumerable.Repeat(size, rank).ToList()));
        var offset = Gen.Frequency((6, Gen.Choose(0, 48).Select(o => (long)o)), (1, Gen.Elements(Mutations.InterestingIntegers)));
        var entry =
            from dtype in Gen.Elements(DTypes)
            from dims in shape
            from begin in offset
            from end in offset
            select new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray([.. dims.Select(d => JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(begin, end),
            };
        return from count in Gen.Choose(0, 4)
            from entries in Gen.ListOf(entry, count)
            from names in Gen.ListOf(Gen.Elements("a", "b", "c", "__metadata__"), count)
            from dataBytes in Gen.Choose(0, 64)
            select PlausibleFile(names, entries, dataBytes);
    }

    private static Mutant PlausibleFile(IReadOnlyList<string> names, IReadOnlyList<JsonObject> entries, int dataBytes)
    {
        var header = new JsonObject();
        for (var i = 0; i < entries.Count; i++) header[names[i]] = entries[i];
        var text = header.ToJsonString();
        return new Mutant($"header {text} with {dataBytes} data bytes", Join(text, new byte[dataBytes]));
    }

    private static Gen<Mutant> Inputs()
    {
        var (header, data) = Split(Seed.Value);
        return Gen.Frequency(
            (4, Mutations.Bytes("seed file", Seed.Value)),
            (1, Mutations.Bytes("gzipped seed file", Gzip(Seed.Value))),
            (4, Mutations.Json("seed header", header).Select(edited => new Mutant(edited.Recipe, Join(edited.Json, data)))),
            (2, PlausibleHeaders()),
            (1, from length in Gen.Elements(Mutations.InterestingIntegers)
                select new Mutant($"header length {(ulong)length}", [.. BitConverter.GetBytes(length), .. Seed.Value[8..]])));
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Fuzz_safetensors_reader_throws_only_checkpoint_exceptions()
    {
        var path = folder.File("fuzz.safetensors");
        Fuzz.Run<Mutant, CheckpointException>(output, "safetensors", Inputs(), mutant =>
        {
            File.WriteAllBytes(path, mutant.Bytes);
            using var file = SafetensorsFile.Open(path);
            foreach (var entry in file.Entries.Values)
            {
                using var tensor = file.Read(entry.Name);
                Assert.Equal(entry.Shape, tensor.shape);
                Assert.Equal(entry.End - entry.Begin, tensor.numel() * tensor.element_size());
            }
        });
    }
}
