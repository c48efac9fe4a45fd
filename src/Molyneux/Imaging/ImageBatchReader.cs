using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace Molyneux.Imaging;

/// <summary>Image files read as model inputs a batch at a time, in order (<see cref="ImagePipeline.Open"/>). With one
/// worker or none, <see cref="Next"/> decodes and preprocesses the batch on the caller's thread. With more, the work
/// runs ahead of the caller in two stages:
/// <list type="bullet">
/// <item>worker threads decode files (<see cref="ImageDecoder.Decode"/>: managed RGBA bytes, no TorchSharp), at most
/// two per worker ahead of the preprocessing, which bounds the memory that large photos take;</item>
/// <item>one thread preprocesses them in file order into batch tensors with the processor's own code, at most
/// <see cref="ImagePipeline.BatchesAhead"/> batches ahead of the caller. Only this thread and the caller's run libtorch,
/// each with libtorch's intra-op threads.</item>
/// </list>
/// The batches hold the same values as the sequential path's (the same code on the same pixels), and an error is the
/// same exception, thrown by <see cref="Next"/> for the batch in which the sequential path would throw it. Dispose the
/// reader: it stops and waits for its threads, so that none runs once the caller has returned or failed, and frees
/// the batches made but not taken.</summary>
public sealed class ImageBatchReader : IDisposable
{
    private readonly IReadOnlyList<string> paths;
    private readonly int batchSize;
    private readonly IImageFilePreprocessor processor;
    private readonly Func<string, DecodedImage> decode;
    private readonly int window;
    private readonly List<Thread> threads = [];

    // Everything below is guarded by gate; the threads wait on it for room or for results.
    private readonly object gate = new();
    private readonly Dictionary<int, Decoded> decoded = [];
    private readonly Queue<Prepared> prepared = new();
    private int nextToDecode;
    private int nextToPreprocess;
    private bool stopped;

    private int nextBatchStart;

    /// <summary>Starts the threads at once when there are workers. <paramref name="decode"/> is
    /// <see cref="ImageDecoder.Decode"/> but for tests, which put a slow or failing one in its place.</summary>
    internal ImageBatchReader(IReadOnlyList<string> paths, int batchSize, IImageFilePreprocessor processor, int workers,
        Func<string, DecodedImage> decode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        (this.paths, this.batchSize, this.processor, this.decode) = (paths, batchSize, processor, decode);
        Workers = workers <= 1 || paths.Count == 0 ? 0 : Math.Min(workers, paths.Count);
        if (Workers == 0) return;

        window = 2 * Workers;
        for (var worker = 0; worker < Workers; worker++)
            threads.Add(new Thread(DecodeFiles) { IsBackground = true, Name = $"Molyneux image decoding {worker + 1}" });
        threads.Add(new Thread(PreprocessBatches) { IsBackground = true, Name = "Molyneux image preprocessing" });
        foreach (var thread in threads) thread.Start();
    }

    /// <summary>Threads decoding files; 0 when batches are read on the caller's thread.</summary>
    public int Workers { get; }

    /// <summary>Whether a batch is left to read.</summary>
    public bool HasNext => nextBatchStart < paths.Count;

    /// <summary>Background threads not yet finished (for tests: 0 after <see cref="Dispose"/>).</summary>
    internal int RunningThreads => threads.Count(thread => thread.IsAlive);

    /// <summary>The next batch's model inputs [n, 3, H, W] (CPU), on the caller's current dispose scope like any tensor
    /// the caller makes.</summary>
    /// <exception cref="ImageException">A file of this batch cannot be read or preprocessed; the reader is then
    /// stopped.</exception>
    public Tensor Next()
    {
        if (!HasNext) throw new InvalidOperationException("every batch has been read");
        var start = nextBatchStart;
        var count = Math.Min(batchSize, paths.Count - start);
        nextBatchStart += count;
        if (Workers == 0)
        {
            var files = Slice(start, count);
            return processor.PreprocessFiles(files, index => decode(files[index]));
        }

        Prepared batch;
        lock (gate)
        {
            while (prepared.Count == 0 && !stopped) Monitor.Wait(gate);
            ObjectDisposedException.ThrowIf(prepared.Count == 0, this);
            batch = prepared.Dequeue();
            Monitor.PulseAll(gate);
        }
        if (batch.Error is { } error)
        {
            Dispose();
            error.Throw();
        }
        // The tensor was made on another thread, outside any scope; a new handle to the same storage made here
        // joins the caller's scope, and the original one is released.
        using var pixels = batch.Pixels!;
        return pixels.detach();
    }

    /// <summary>Stops the threads and waits for them (a file being decoded is finished first), then frees the batches
    /// made ahead. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            stopped = true;
            Monitor.PulseAll(gate);
        }
        foreach (var thread in threads) thread.Join();
        lock (gate)
        {
            while (prepared.TryDequeue(out var batch)) batch.Pixels?.Dispose();
            decoded.Clear();
        }
    }

    private void DecodeFiles()
    {
        while (true)
        {
            int index;
            lock (gate)
            {
                while (!stopped && nextToDecode < paths.Count && nextToDecode >= nextToPreprocess + window) Monitor.Wait(gate);
                if (stopped || nextToDecode >= paths.Count) return;
                index = nextToDecode++;
            }
            Decoded result;
            try
            {
                result = new Decoded(decode(paths[index]), null);
            }
            catch (Exception e)
            {
                result = new Decoded(null, ExceptionDispatchInfo.Capture(e));
            }
            lock (gate)
            {
                decoded[index] = result;
                Monitor.PulseAll(gate);
            }
        }
    }

    private void PreprocessBatches()
    {
        try
        {
            // Gradient mode is per thread; the inputs need none.
            using var noGrad = no_grad();
            for (var start = 0; start < paths.Count; start += batchSize)
            {
                var first = start;
                var pixels = processor.PreprocessFiles(Slice(start, Math.Min(batchSize, paths.Count - start)), index => Take(first + index));
                lock (gate)
                {
                    while (!stopped && prepared.Count >= ImagePipeline.BatchesAhead) Monitor.Wait(gate);
                    if (stopped)
                    {
                        pixels.Dispose();
                        return;
                    }
                    prepared.Enqueue(new Prepared(pixels, null));
                    Monitor.PulseAll(gate);
                }
            }
        }
        catch (StoppedException)
        {
        }
        catch (Exception e)
        {
            lock (gate)
            {
                prepared.Enqueue(new Prepared(null, ExceptionDispatchInfo.Capture(e)));
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>File <paramref name="index"/> once a worker has decoded it, or its decoding error.</summary>
    private DecodedImage Take(int index)
    {
        Decoded result;
        lock (gate)
        {
            while (true)
            {
                if (stopped) throw new StoppedException();
                if (decoded.Remove(index, out result)) break;
                Monitor.Wait(gate);
            }
            nextToPreprocess = index + 1;
            Monitor.PulseAll(gate);
        }
        result.Error?.Throw();
        return result.Image!;
    }

    private string[] Slice(int start, int count)
    {
        var slice = new string[count];
        for (var i = 0; i < count; i++) slice[i] = paths[start + i];
        return slice;
    }

    private readonly record struct Decoded(DecodedImage? Image, ExceptionDispatchInfo? Error);

    private readonly record struct Prepared(Tensor? Pixels, ExceptionDispatchInfo? Error);

    /// <summary>Unwinds the preprocessing thread when the reader is disposed mid-batch.</summary>
    private sealed class StoppedException : Exception;
}
