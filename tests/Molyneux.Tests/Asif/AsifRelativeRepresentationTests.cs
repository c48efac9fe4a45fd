using Molyneux.Asif;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

/// <summary>Relative representations against a direct dense computation: top-k (chunked or not, in memory or from a
/// mapped file), exponent, normalization and the sparse products.</summary>
public sealed class AsifRelativeRepresentationTests
{
    private static Tensor UnitRows(int rows, int dimension, int seed) =>
        nn.functional.normalize(randn(rows, dimension, generator: new Generator((ulong)seed)), dim: 1);

    /// <summary>The relative representations as dense [N, anchors] matrices, straight from the definition.</summary>
    private static Tensor Dense(Tensor queries, Tensor anchors, int k, double p, bool clamp)
    {
        var similarities = nn.functional.normalize(queries, dim: 1).matmul(anchors.t());
        var (values, indices) = similarities.topk(k, dim: 1);
        if (clamp) values = values.clamp_min(0);
        return zeros_like(similarities).scatter(1, indices, nn.functional.normalize(values.pow(p), dim: 1));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(64)]
    [InlineData(7)]
    public void Chunked_top_k_equals_the_unchunked_one(int chunkRows)
    {
        using var anchors = UnitRows(1000, 32, 1);
        using var queries = randn(20, 32, generator: new Generator(2));
        var matrix = AnchorMatrix.FromRows(anchors, AnchorStorage.Fp32);
        var (wholeValues, wholeIndices) = RelativeRepresentation.TopSimilarities(queries, matrix, 50, chunkRows: 1000);
        var (values, indices) = RelativeRepresentation.TopSimilarities(queries, matrix, 50, chunkRows);
        Assert.True(TensorAssert.Identical(wholeIndices, indices));
        Assert.True((wholeValues - values).abs().max().item<float>() < 1e-6);
        using var direct = nn.functional.normalize(queries, dim: 1).matmul(anchors.t()).topk(50, dim: 1).values;
        Assert.True((direct - values).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Top_k_streams_the_same_anchors_from_a_memory_mapped_file_in_chunks()
    {
        using var folder = new TestPaths.TempFolder();
        using var anchors = UnitRows(300, 16, 3);
        using var queries = randn(5, 16, generator: new Generator(4));
        var inMemory = AnchorMatrix.FromRows(anchors, AnchorStorage.Int8);
        SafetensorsFile.Write(folder.File("anchors.safetensors"), inMemory.Tensors("image"));
        using var file = SafetensorsFile.Open(folder.File("anchors.safetensors"));
        var mapped = AnchorMatrix.Mapped(file, "image");
        Assert.Equal((AnchorStorage.Int8, 300L, 16), (mapped.Storage, mapped.Count, mapped.Dimension));
        var (expectedValues, expectedIndices) = RelativeRepresentation.TopSimilarities(queries, inMemory, 40, chunkRows: 300);
        var (values, indices) = RelativeRepresentation.TopSimilarities(queries, mapped, 40, chunkRows: 32);
        Assert.True(TensorAssert.Identical(expectedIndices, indices));
        Assert.True((expectedValues - values).abs().max().item<float>() < 1e-6);
    }

    [Theory]
    [InlineData(10, 8.0, false)]
    [InlineData(10, 3.0, false)]
    [InlineData(25, 2.0, true)]
    [InlineData(500, 8.0, false)]
    public void Products_of_sparse_representations_equal_the_dense_definition(int k, double p, bool clamp)
    {
        using var imageAnchors = UnitRows(40, 8, 5);
        using var textAnchors = UnitRows(40, 6, 6);
        using var images = randn(7, 8, generator: new Generator(7));
        using var texts = randn(5, 6, generator: new Generator(8));
        var options = new AsifOptions { NonZeros = k, Exponent = p, ClampNegatives = clamp };
        var imageRows = RelativeRepresentation.Compute(images, AnchorMatrix.FromRows(imageAnchors, AnchorStorage.Fp32), options);
        var textRows = RelativeRepresentation.Compute(texts, AnchorMatrix.FromRows(textAnchors, AnchorStorage.Fp32), options);
        Assert.Equal(Math.Min(k, 40), imageRows.K);

        var kept = Math.Min(k, 40);
        using var expected = Dense(images, imageAnchors, kept, p, clamp).matmul(Dense(texts, textAnchors, kept, p, clamp).t());
        using var actual = imageRows.Products(textRows);
        Assert.True((expected - actual).abs().max().item<float>() < 1e-5);
        foreach (var row in Enumerable.Range(0, imageRows.Rows))
            Assert.Equal(1.0, imageRows.WeightsOf(row).ToArray().Sum(w => (double)w * w), 4);
    }

    [Fact]
    public void A_shorter_k_is_the_prefix_of_a_longer_top_list()
    {
        using var anchors = UnitRows(200, 12, 9);
        using var queries = randn(4, 12, generator: new Generator(10));
        var matrix = AnchorMatrix.FromRows(anchors, AnchorStorage.Fp32);
        var (values, indices) = RelativeRepresentation.TopSimilarities(queries, matrix, 100, 64);
        var fromPrefix = RelativeRepresentation.FromSimilarities(values, indices, 200, new AsifOptions { NonZeros = 20 });
        var direct = RelativeRepresentation.Compute(queries, matrix, new AsifOptions { NonZeros = 20 });
        Assert.Equal(direct.Indices, fromPrefix.Indices);
        Assert.All(direct.Weights.Zip(fromPrefix.Weights), pair => Assert.Equal(pair.First, pair.Second, 5));
    }

    [Theory]
    [InlineData(AnchorStorage.Fp16, 2e-3)]
    [InlineData(AnchorStorage.Int8, 1e-2)]
    public void Quantized_storage_keeps_rows_close_and_takes_fewer_bytes(AnchorStorage storage, double tolerance)
    {
        using var anchors = UnitRows(100, 64, 11);
        var exact = AnchorMatrix.FromRows(anchors, AnchorStorage.Fp32);
        var quantized = AnchorMatrix.FromRows(anchors, storage);
        using var rows = quantized.ReadRows(0, 100);
        Assert.True((rows - anchors).abs().max().item<float>() < tolerance);
        Assert.True(quantized.StoredBytes < exact.StoredBytes / 1.9);
        using var middle = quantized.ReadRows(40, 10);
        Assert.True(TensorAssert.Identical(rows[40..50], middle));
    }

    [Fact]
    public void An_odd_fractional_or_non_positive_exponent_is_refused_unless_negatives_are_clamped()
    {
        Assert.Throws<OptionException>(() => new AsifOptions { Exponent = 2.5 }.Validate());
        new AsifOptions { Exponent = 2.5, ClampNegatives = true }.Validate();
        Assert.Throws<OptionException>(() => new AsifOptions { Exponent = 0 }.Validate());
        Assert.Throws<OptionException>(() => new AsifOptions { NonZeros = 0 }.Validate());
    }
}
