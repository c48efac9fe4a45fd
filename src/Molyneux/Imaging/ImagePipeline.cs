namespace Molyneux.Imaging;

/// <summary>How image files reach an encoder: a batch at a time, decoded on worker threads and preprocessed on a
/// background thread while the encoder works on the batches before (see <see cref="ImageBatchReader"/>). An encoder
/// that decoded its own files would leave the model waiting on one CPU core per file; with the pipeline the model
/// waits only when decoding, with every worker busy, is slower than the model itself.</summary>
public static class ImagePipeline
{
    private static int decodeWorkers = Environment.ProcessorCount;

    /// <summary>Threads that decode image files for one encoder call; 0 or 1 turns the pipeline off, so that each batch
    /// is decoded and preprocessed on the caller's thread right before it is encoded, as a plain loop would. Process-wide,
    /// like libtorch's thread count; the default is one per core. The features do not depend on it: the pipeline only
    /// moves work to other threads, in the same order.</summary>
    /// <exception cref="OptionException">A negative count.</exception>
    public static int DecodeWorkers
    {
        get => Volatile.Read(ref decodeWorkers);
        set
        {
            if (value < 0) throw new OptionException($"decode workers: must be 0 (no background decoding) or more, got {value}");
            Volatile.Write(ref decodeWorkers, value);
        }
    }

    /// <summary>Batches preprocessed ahead of the one being encoded: two keep the encoder fed through an uneven batch
    /// (one with a large photo in it) while holding little memory (a 32 × 224 × 224 batch is 19 MB).</summary>
    public const int BatchesAhead = 2;

    /// <summary>Reads <paramref name="paths"/> in batches of <paramref name="batchSize"/> with
    /// <paramref name="processor"/>, on the pipeline when <see cref="DecodeWorkers"/> (or <paramref name="workers"/>)
    /// is above 1.</summary>
    public static ImageBatchReader Open(IReadOnlyList<string> paths, int batchSize, IImageFilePreprocessor processor, int? workers = null) =>
        new(paths, batchSize, processor, workers ?? DecodeWorkers, ImageDecoder.Decode);
}
