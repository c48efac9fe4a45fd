using Molyneux.Asif;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

public sealed class RememberingEncodersTests
{
    /// <summary>Encodes a file or a text as a row of its length, counting what it is asked for.</summary>
    private sealed class CountingEncoder : IImageEncoder, ITextEncoder
    {
        public List<string> Asked { get; } = [];

        public string Identity => "counting";

        public int EmbeddingSize => 2;

        public ComputeDevice Device => ComputeDevice.Cpu;

        public Tensor EncodeImages(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null)
        {
            Asked.AddRange(imagePaths);
            return tensor(imagePaths.SelectMany(path => new float[] { path.Length, 1 }).ToArray()).reshape(imagePaths.Count, 2);
        }

        public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) => EncodeImages(texts, progress);
    }

    [Fact]
    public void Each_file_is_encoded_once_and_rows_come_back_in_the_order_asked()
    {
        var counting = new CountingEncoder();
        using var remembering = new RememberingImageEncoder(counting);

        using var first = remembering.EncodeImages(["a", "bbb", "a"]);
        using var second = remembering.EncodeImages(["cc", "bbb", "a"]);

        Assert.Equal(["a", "bbb", "cc"], counting.Asked);
        Assert.Equal(3, remembering.FilesEncoded);
        Assert.Equal(new float[] { 1, 1, 3, 1, 1, 1 }, first.data<float>().ToArray());
        Assert.Equal(new float[] { 2, 1, 3, 1, 1, 1 }, second.data<float>().ToArray());
        Assert.Equal([0, 2], remembering.EncodeImages([]).shape);
    }

    [Fact]
    public void Each_text_is_encoded_once_too()
    {
        var counting = new CountingEncoder();
        using var remembering = new RememberingTextEncoder(counting);

        using var first = remembering.EncodeTexts(["a red circle", "a square"]);
        using var second = remembering.EncodeTexts(["a square", "a red circle", "a star"]);

        Assert.Equal(["a red circle", "a square", "a star"], counting.Asked);
        Assert.Equal(3, remembering.TextsEncoded);
        Assert.Equal(new float[] { 8, 1, 12, 1, 6, 1 }, second.data<float>().ToArray());
    }
}
