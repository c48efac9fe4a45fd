using Molyneux.Asif;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

/// <summary>Building, storing, growing and shrinking an ASIF index with encoders that count their work.</summary>
public sealed class AsifIndexTests
{
    [Theory]
    [InlineData(AnchorStorage.Fp32)]
    [InlineData(AnchorStorage.Fp16)]
    [InlineData(AnchorStorage.Int8)]
    public void An_index_saved_and_opened_again_has_the_same_anchors_and_embeddings(AnchorStorage storage)
    {
        using var world = new AsifColourWorld();
        using var built = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue"), storage, "image-encoder-path", null);
        built.Save(world.Folder.File("index"));
        using var opened = AsifIndex.Open(world.Folder.File("index"));
        Assert.Equal(built.Anchors, opened.Anchors);
        Assert.Equal(storage, opened.Storage);
        Assert.Equal(built.ImageEncoder, opened.ImageEncoder);
        Assert.Equal(Path.GetFullPath("image-encoder-path"), opened.ImageEncoder.Path);
        Assert.Null(opened.TextEncoder.Path);
        using var builtRows = built.TextAnchors.ReadRows(0, 9);
        using var openedRows = opened.TextAnchors.ReadRows(0, 9);
        Assert.True(TensorAssert.Identical(builtRows, openedRows));
        Assert.Throws<OptionException>(() => built.Save(world.Folder.File("index")));
    }

    [Fact]
    public void Each_distinct_image_is_encoded_once_and_every_caption_is_an_anchor()
    {
        using var world = new AsifColourWorld();
        var image = world.Image("red", 0);
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, [new(image, "a red square"), new(image, "red")]);
        Assert.Equal([image], world.ImageEncoder.Encoded);
        Assert.Equal(["a red square", "red"], world.TextEncoder.Encoded);
        using var rows = index.ImageAnchors.ReadRows(0, 2);
        Assert.True(TensorAssert.Identical(rows[0], rows[1]));
    }

    [Fact]
    public void Adding_encodes_only_the_new_pairs_and_keeps_the_stored_embeddings()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green"), AnchorStorage.Int8);
        index.Save(world.Folder.File("index"));
        using var opened = AsifIndex.Open(world.Folder.File("index"));
        world.ImageEncoder.Encoded.Clear();
        world.TextEncoder.Encoded.Clear();

        var purple = world.Anchors("purple");
        using var grown = opened.Add(world.ImageEncoder, world.TextEncoder, [.. world.Anchors("red").Take(1), .. purple]);
        Assert.Equal(purple.Select(pair => pair.ImagePath), world.ImageEncoder.Encoded);
        Assert.Equal(purple.Select(pair => pair.Caption), world.TextEncoder.Encoded);
        Assert.Equal([.. index.Anchors, .. purple], grown.Anchors);
        using var before = opened.ImageAnchors.ReadRows(0, 6);
        using var after = grown.ImageAnchors.ReadRows(0, 6);
        Assert.True(TensorAssert.Identical(before, after));
    }

    [Fact]
    public void Removing_keeps_the_other_anchors_in_order_without_encoding_and_never_empties_the_index()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red", "green", "blue"));
        var calls = (world.ImageEncoder.Calls, world.TextEncoder.Calls);
        using var smaller = index.Remove(pair => pair.Caption.Contains("green"));
        Assert.Equal(index.Anchors.Where(pair => !pair.Caption.Contains("green")), smaller.Anchors);
        using var kept = smaller.TextAnchors.ReadRows(3, 3);
        using var original = index.TextAnchors.ReadRows(6, 3);
        Assert.True(TensorAssert.Identical(original, kept));
        Assert.Equal(calls, (world.ImageEncoder.Calls, world.TextEncoder.Calls));
        Assert.Throws<OptionException>(() => index.Remove(_ => true));
    }

    [Fact]
    public void Encoders_other_than_the_indexs_are_refused()
    {
        using var world = new AsifColourWorld();
        using var index = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, world.Anchors("red"));
        var other = new Evaluation.MeanColourImageEncoder("another-image-encoder");
        var error = Assert.Throws<OptionException>(() => index.Add(other, world.TextEncoder, world.Anchors("blue")));
        Assert.Contains("image encoder", error.Message);
    }
    /// <summary>Centring subtracts each modality's anchor mean from anchors and queries alike: the stored rows are the
    /// unit vectors of (embedding − mean), the mean survives a save and an open and is reused for added anchors, and a
    /// query's similarities are cosines around that mean.</summary>
    [Fact]
    public void A_centred_index_stores_its_means_and_centres_anchors_added_later_and_queries_alike()
    {
        using var world = new AsifColourWorld();
        var pairs = world.Anchors("red", "green", "blue");
        using var plain = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, pairs);
        using var centred = AsifIndex.Build(world.ImageEncoder, world.TextEncoder, pairs, centre: true);
        using var raw = world.ImageEncoder.EncodeImages(pairs.Select(pair => pair.ImagePath).ToList());
        using var mean = raw.mean([0]);
        using var expected = nn.functional.normalize(raw - mean, p: 2, dim: 1);

        Assert.False(plain.Centred);
        Assert.True(centred.Centred);
        Assert.True(mean.allclose(centred.ImageAnchors.Centre!, rtol: 0, atol: 1e-6));
        using (var rows = centred.ImageAnchors.ReadRows(0, pairs.Count))
            Assert.True(expected.allclose(rows, rtol: 0, atol: 1e-6));
        using (var query = centred.ImageAnchors.CentreQueries(raw[..1]))
        {
            var (values, _) = RelativeRepresentation.TopSimilarities(raw[..1], centred.ImageAnchors, 1, 1000);
            using (values)
                Assert.Equal(1.0, values[0, 0].item<float>(), 5);   // a query equal to an anchor is its own nearest, at cosine 1
            Assert.True(expected[..1].allclose(query, rtol: 0, atol: 1e-6));
        }

        centred.Save(world.Folder.File("index"));
        using var opened = AsifIndex.Open(world.Folder.File("index"));
        Assert.True(opened.Centred);
        Assert.True(TensorAssert.Identical(centred.TextAnchors.Centre!, opened.TextAnchors.Centre!));
        var purple = world.Anchors("purple");
        using var grown = opened.Add(world.ImageEncoder, world.TextEncoder, purple);
        using var purpleRaw = world.ImageEncoder.EncodeImages(purple.Select(pair => pair.ImagePath).ToList());
        using var purpleExpected = nn.functional.normalize(purpleRaw - mean, p: 2, dim: 1);
        using var purpleRows = grown.ImageAnchors.ReadRows(pairs.Count, purple.Count);
        Assert.True(purpleExpected.allclose(purpleRows, rtol: 0, atol: 1e-6));
        using var quantized = opened.WithStorage(AnchorStorage.Fp16);
        Assert.True(TensorAssert.Identical(opened.ImageAnchors.Centre!, quantized.ImageAnchors.Centre!));
    }
}
