using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Cli;

/// <summary>The --threads option: libtorch's intra-op thread count, and the image-decoding workers
/// (<see cref="ImagePipeline.DecodeWorkers"/>), for the span of one command, so that a cap holds for all the work.
/// Both are process-wide, so they are put back afterwards; a CLI process does not care, but tests (and anything else that calls
/// <see cref="MolyneuxCli.Run"/> in-process) would otherwise inherit one command's cap.</summary>
public static class LibtorchThreads
{
    /// <summary>Sets the count to <paramref name="threads"/> until disposed; null leaves libtorch's own choice alone (and
    /// does not load libtorch for commands that never touch it).</summary>
    /// <exception cref="OptionException">The count is below 1.</exception>
    public static IDisposable Use(int? threads)
    {
        if (threads is null) return new Restore(null);
        if (threads < 1) throw new OptionException($"--threads: must be at least 1, got {threads}");
        var previous = (get_num_threads(), ImagePipeline.DecodeWorkers);
        set_num_threads(threads.Value);
        ImagePipeline.DecodeWorkers = threads.Value;
        return new Restore(previous);
    }

    private sealed class Restore((int Libtorch, int Decoding)? previous) : IDisposable
    {
        public void Dispose()
        {
            if (previous is not { } counts) return;
            set_num_threads(counts.Libtorch);
            ImagePipeline.DecodeWorkers = counts.Decoding;
        }
    }
}
