using Molyneux.Asif;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Onnx;
using Molyneux.Tests.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Imaging;

/// <summary>The background image pipeline (<see cref="ImageBatchReader"/>) against the sequential path it replaces:
/// the same bits in the same order, the same errors at the same batch, and no thread left behind.</summary>
[Collection(ProcessWideThreads.Name)]
public sealed class ImagePipelineTests : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>The repository's real images: PNGs of several sizes, with and without alpha, and a CMYK JPEG.</summary>
    private static IReadOnlyList<string> RealImages()
    {
        var fixtures = Path.Combine(TestPaths.RepositoryRoot, "tests", "Molyneux.Tests", "Fixtures", "imaging");
        var examples = Path.Combine(TestPaths.RepositoryRoot, "docs", "examples");
        return [.. ImageFiles.InFolder(examples), .. new[] { "cmyk_8x6.jpg", "gradient_7x5.png", "noise_37x23.png" }.Select(name => Path.Combine(fixtures, name))];
    }

    private static IImageFilePreprocessor Processor(string kind) => kind switch
    {
        "clip" => ClipImageProcessor.Default(32),
        "vit" => new ViTImageProcessor(24, 20),
        _ => new ResNetImageProcessor(arange(3 * 16 * 16, dtype: ScalarType.Float32).reshape(3, 16, 16).div(7)),
    };

    /// <summary>Every batch of the reader, concatenated.</summary>
    private static Tensor ReadAll(ImageBatchReader reader)
    {
        using var scope = NewDisposeScope();
        var batches = new List<Tensor>();
        while (reader.HasNext) batches.Add(reader.Next());
        return cat(batches, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Files whose pixels say which file they are: file i is a uniform grey of i/255.</summary>
    private IReadOnlyList<string> NumberedImages(int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var path = folder.File($"image{i:D2}.png");
            using var pixels = full(3, 9 + i, 12, i / 255f);
            ImageDecoder.SavePng(path, pixels);
            return path;
        })];

    [Theory]
    [InlineData("clip")]
    [InlineData("vit")]
    [InlineData("resnet")]
    public void Pipeline_batches_are_bit_identical_to_the_sequential_ones(string kind)
    {
        var processor = Processor(kind);
        var files = RealImages().Concat(RealImages()).ToList();
        using var sequential = ImagePipeline.Open(files, 4, processor, workers: 0);
        using var pipelined = ImagePipeline.Open(files, 4, processor, workers: 3);
        Assert.Equal(0, sequential.Workers);
        Assert.Equal(3, pipelined.Workers);

        using var expected = ReadAll(sequential);
        using var actual = ReadAll(pipelined);

        Assert.Equal(files.Count, expected.shape[0]);
        Assert.True(TensorAssert.Identical(expected, actual), $"{kind}: the pipeline's pixels differ from the sequential ones");
        using var direct = processor switch
        {
            ClipImageProcessor clip => clip.PreprocessFiles(files),
            ViTImageProcessor vit => vit.PreprocessFiles(files),
            ResNetImageProcessor resnet => resnet.PreprocessFiles(files),
            _ => throw new InvalidOperationException(),
        };
        Assert.True(TensorAssert.Identical(expected, direct), "the sequential reader differs from PreprocessFiles");
        (processor as IDisposable)?.Dispose();
    }

    [Fact]
    public void Pipeline_keeps_file_order_when_later_files_decode_first()
    {
        var files = NumberedImages(11);
        // The first files of each window are the slowest, so the workers finish them last.
        var decodingThreads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        DecodedImage SlowFirst(string path)
        {
            decodingThreads[Environment.CurrentManagedThreadId] = true;
            var index = int.Parse(Path.GetFileNameWithoutExtension(path)["image".Length..]);
            Thread.Sleep(index % 4 == 0 ? 40 : 1);
            return ImageDecoder.Decode(path);
        }
        using var reader = new ImageBatchReader(files, 3, new ViTImageProcessor(8, 8, doNormalize: false), workers: 2, SlowFirst);

        var means = new List<float>();
        var batchSizes = new List<long>();
        while (reader.HasNext)
        {
            using var batch = reader.Next();
            batchSizes.Add(batch.shape[0]);
            means.AddRange(batch.mean([1, 2, 3]).data<float>().ToArray());
        }

        Assert.Equal([3L, 3, 3, 2], batchSizes);
        Assert.Equal(2, decodingThreads.Count);
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, decodingThreads.Keys);
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (float)Math.Round(i / 255.0, 5)), means.Select(m => (float)Math.Round(m, 5)));
    }

    [Fact]
    public void Unreadable_file_fails_with_its_name_at_its_batch_and_stops_every_thread()
    {
        var files = NumberedImages(9).ToList();
        var corrupt = folder.File("corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        files.Insert(4, corrupt);
        var processor = ClipImageProcessor.Default(8);
        var decodes = 0;
        DecodedImage Counting(string path)
        {
            Interlocked.Increment(ref decodes);
            Thread.Sleep(5);
            return ImageDecoder.Decode(path);
        }

        var expected = Assert.Throws<ImageException>(() => processor.PreprocessFiles(files));
        using var reader = new ImageBatchReader(files, 3, processor, workers: 3, Counting);
        using (reader.Next())
        {
        }
        var error = Assert.Throws<ImageException>(() => reader.Next());

        Assert.Equal(expected.Message, error.Message);
        Assert.StartsWith(corrupt, error.Message);
        AssertStoppedForGood(reader, () => Volatile.Read(ref decodes));
    }

    /// <summary>No thread left, no file decoded any more, and no batch to be had.</summary>
    private static void AssertStoppedForGood(ImageBatchReader reader, Func<int> decodes)
    {
        Assert.Equal(0, reader.RunningThreads);
        var decodedSoFar = decodes();
        Thread.Sleep(100);
        Assert.Equal(decodedSoFar, decodes());
        Assert.Throws<ObjectDisposedException>(() => reader.Next());
    }

    [Fact]
    public void Run_files_reports_the_sequential_error_after_encoding_the_batches_before_it()
    {
        var files = NumberedImages(7).ToList();
        files.Insert(5, folder.File("missing.jpg"));
        var processor = ClipImageProcessor.Default(8);
        var encoded = new List<long>();
        Tensor Encode(Tensor pixels)
        {
            encoded.Add(pixels.shape[0]);
            return pixels.flatten(1).narrow(1, 0, 4);
        }

        var sequential = Assert.Throws<ImageException>(() => BatchedInference.RunFiles(files, 2, 4, null, processor, Encode, workers: 0));
        var sequentialBatches = encoded.ToList();
        encoded.Clear();
        var pipelined = Assert.Throws<ImageException>(() => BatchedInference.RunFiles(files, 2, 4, null, processor, Encode, workers: 4));

        Assert.Equal(sequential.Message, pipelined.Message);
        Assert.Contains("missing.jpg", pipelined.Message);
        Assert.Equal([2L, 2], sequentialBatches);
        Assert.Equal(sequentialBatches, encoded);
    }

    [Fact]
    public void Disposing_midway_stops_the_threads_and_frees_the_batches_made_ahead()
    {
        var files = NumberedImages(12);
        var decodes = 0;
        DecodedImage Counting(string path)
        {
            Interlocked.Increment(ref decodes);
            return ImageDecoder.Decode(path);
        }
        var reader = new ImageBatchReader(files, 2, ClipImageProcessor.Default(8), workers: 2, Counting);
        using (reader.Next())
        {
        }
        reader.Dispose();

        AssertStoppedForGood(reader, () => Volatile.Read(ref decodes));
    }

    [Fact]
    public void Empty_input_gives_no_batch_and_no_thread()
    {
        using var reader = ImagePipeline.Open([], 4, ClipImageProcessor.Default(8), workers: 8);
        Assert.False(reader.HasNext);
        Assert.Equal(0, reader.Workers);
        Assert.Equal(0, reader.RunningThreads);
        Assert.Throws<InvalidOperationException>(() => reader.Next());

        using var features = BatchedInference.RunFiles([], 4, 5, null, ClipImageProcessor.Default(8), pixels => pixels, workers: 8);
        Assert.Equal(new long[] { 0, 5 }, features.shape);
    }

    [Fact]
    public void Clip_features_are_the_same_with_and_without_decode_workers()
    {
        using var clip = ClipGoldenTests.LoadGolden("model_a", "hf");
        // Two batches of the default 32.
        var files = Enumerable.Repeat(RealImages(), 6).SelectMany(images => images).ToList();
        var previous = ImagePipeline.DecodeWorkers;
        try
        {
            ImagePipeline.DecodeWorkers = 0;
            using var sequential = clip.EncodeImages(files);
            ImagePipeline.DecodeWorkers = 3;
            using var pipelined = clip.EncodeImages(files);

            Assert.Equal(new long[] { files.Count, clip.EmbeddingSize }, sequential.shape);
            Assert.True(TensorAssert.Identical(sequential, pipelined), "CLIP features differ with the pipeline");
        }
        finally
        {
            ImagePipeline.DecodeWorkers = previous;
        }
    }

    [Fact]
    public void Decode_workers_refuse_a_negative_count()
    {
        var error = Assert.Throws<OptionException>(() => ImagePipeline.DecodeWorkers = -1);
        Assert.Contains("-1", error.Message);
        Assert.True(ImagePipeline.DecodeWorkers >= 0);
    }
}
