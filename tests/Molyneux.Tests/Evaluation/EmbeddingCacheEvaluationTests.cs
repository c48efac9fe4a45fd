using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

public class EmbeddingCacheEvaluationTests
{
    [Fact]
    public void Stores_once_and_reads_back_exact_values()
    {
        using var temp = new TestPaths.TempFolder();
        var cache = new EmbeddingCache(temp.File("cache"));
        var computed = 0;
        float[] values = [1.5f, -2, float.Epsilon, 3.25f, 0, 1e30f];
        Tensor Compute()
        {
            computed++;
            return tensor(values, [2, 3]);
        }

        using var first = cache.GetOrAdd("k", Compute);
        using var second = new EmbeddingCache(temp.File("cache")).GetOrAdd("k", Compute);

        Assert.Equal(1, computed);
        Assert.Equal([2L, 3L], second.shape);
        Assert.Equal(values, second.data<float>().ToArray());
        Assert.Equal(["k.emb"], Directory.GetFiles(temp.File("cache")).Select(Path.GetFileName));
    }

    [Fact]
    public void A_damaged_entry_is_recomputed()
    {
        using var temp = new TestPaths.TempFolder();
        var cache = new EmbeddingCache(temp.Path);
        cache.GetOrAdd("k", () => ones(4, 2)).Dispose();
        var file = temp.File("k.emb");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..^4]);

        using var recomputed = cache.GetOrAdd("k", () => zeros(4, 2));
        Assert.Equal(0f, recomputed.sum().item<float>());
        Assert.Equal(16 + 4 * 8, new FileInfo(file).Length);
    }

    [Fact]
    public void Keys_change_with_encoder_texts_order_and_image_content()
    {
        using var temp = new TestPaths.TempFolder();
        var a = MeanColourImageEncoder.WritePng(temp.File("a.png"), 255, 0, 0);
        var b = MeanColourImageEncoder.WritePng(temp.File("b.png"), 0, 255, 0);

        var texts = EmbeddingCache.KeyForTexts("m", ["ab", "c"]);
        Assert.Equal(texts, EmbeddingCache.KeyForTexts("m", ["ab", "c"]));
        Assert.NotEqual(texts, EmbeddingCache.KeyForTexts("m", ["a", "bc"]));
        Assert.NotEqual(texts, EmbeddingCache.KeyForTexts("n", ["ab", "c"]));
        Assert.Matches("^[0-9a-f]{64}$", texts);

        var images = EmbeddingCache.KeyForImages("m", [a, b]);
        Assert.NotEqual(images, EmbeddingCache.KeyForImages("m", [b, a]));
        Assert.NotEqual(images, EmbeddingCache.KeyForTexts("m", [a, b]));
        MeanColourImageEncoder.WritePng(a, 254, 0, 0);
        Assert.NotEqual(images, EmbeddingCache.KeyForImages("m", [a, b]));
    }

    [Fact]
    public void Default_folder_follows_molyneux_home()
    {
        var previous = Environment.GetEnvironmentVariable("MOLYNEUX_HOME");
        try
        {
            Environment.SetEnvironmentVariable("MOLYNEUX_HOME", "/somewhere/home");
            Assert.Equal("/somewhere/home/cache", EmbeddingCache.DefaultFolder);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MOLYNEUX_HOME", previous);
        }
    }
}
