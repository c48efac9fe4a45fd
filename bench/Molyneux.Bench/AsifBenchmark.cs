using System.Diagnostics;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>ASIF query latency and memory against the number of anchors, on synthetic 512-d unit vectors: for each
/// anchor count and storage the anchor matrix is written as an index writes it, memory-mapped again, and single
/// queries are answered from it (top-k over all anchors read in chunks, then scores against 1 000 candidate prompts),
/// one at a time and in a batch of 100, which reads the anchors once for all of them.
/// Usage: dotnet run -c Release --project bench/Molyneux.Bench -- --asif [--anchors 10000,100000,1000000] [--queries N]</summary>
internal static class AsifBenchmark
{
    private const int Dimension = 512;
    private const int Candidates = 1000;
    private const int Batch = 100;

    public static int Run(BenchArguments args)
    {
        var counts = args.List("--anchors", "10000", "100000", "1000000").Select(long.Parse).ToArray();
        var queries = args.Int("--queries", 20);
        var options = new AsifOptions();
        var folder = Path.Combine(Path.GetTempPath(), $"molyneux-asif-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        Console.WriteLine($"threads: {get_num_threads()}, k = {options.NonZeros}, p = {options.Exponent}, chunks of {options.ChunkRows} anchors, " +
                          $"{Candidates} candidate prompts, median of {queries} single-image queries after one warm-up");
        var (anonymous, mapped) = ProcessMemory.ResidentMegabytes();
        Console.WriteLine($"before any index: {anonymous:F0} MB private resident memory, {mapped:F0} MB file-backed");
        Console.WriteLine($"| anchors | storage | file MB | query ms (top-k) | query ms (total) | ms per query, batch of {Batch} | private MB during queries | mapped MB resident |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        try
        {
            foreach (var count in counts)
                foreach (var storage in Enum.GetValues<AnchorStorage>())
                    Measure(folder, count, storage, queries, options);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return 0;
    }

    private static void Measure(string folder, long count, AnchorStorage storage, int queries, AsifOptions options)
    {
        var path = Path.Combine(folder, $"anchors-{count}-{storage}.safetensors");
        WriteAnchors(path, count, storage);
        using var file = SafetensorsFile.Open(path);
        var anchors = AnchorMatrix.Mapped(file, "image");
        var candidates = RandomRepresentations(Candidates, Math.Min(options.NonZeros, (int)count), count);
        var (topK, total) = (new List<double>(), new List<double>());
        var peakPrivate = 0.0;
        for (var q = 0; q <= queries; q++)
        {
            using var scope = NewDisposeScope();
            var query = randn(1, Dimension, generator: new Generator((ulong)q));
            var watch = Stopwatch.StartNew();
            var relative = RelativeRepresentation.Compute(query, anchors, options);
            var topKSeconds = watch.Elapsed.TotalSeconds;
            relative.Products(candidates).Dispose();
            peakPrivate = Math.Max(peakPrivate, ProcessMemory.ResidentMegabytes().Anonymous);
            if (q == 0) continue;
            topK.Add(topKSeconds);
            total.Add(watch.Elapsed.TotalSeconds);
        }
        var batched = Enumerable.Range(0, 2).Min(_ =>
        {
            using var scope = NewDisposeScope();
            var batch = randn(Batch, Dimension, generator: new Generator(99));
            var watch = Stopwatch.StartNew();
            RelativeRepresentation.Compute(batch, anchors, options).Products(candidates).Dispose();
            peakPrivate = Math.Max(peakPrivate, ProcessMemory.ResidentMegabytes().Anonymous);
            return watch.Elapsed.TotalSeconds / Batch;
        });
        Console.WriteLine($"| {count:N0} | {storage.ToString().ToLowerInvariant()} | {new FileInfo(path).Length / 1e6:F0} | {1000 * Statistics.Median(topK):F1} | " +
                          $"{1000 * Statistics.Median(total):F1} | {1000 * batched:F1} | {peakPrivate:F0} | {ProcessMemory.ResidentMegabytes().Mapped:F0} |");
        File.Delete(path);
    }

    /// <summary>Random unit rows written in the index's layout, built a million floats at a time so that writing a
    /// large matrix does not need a second full copy for the normalization.</summary>
    private static void WriteAnchors(string path, long count, AnchorStorage storage)
    {
        AnchorMatrix? matrix = null;
        const long rowsPerPart = 1 << 17;
        for (long start = 0; start < count; start += rowsPerPart)
        {
            using var rows = randn(Math.Min(rowsPerPart, count - start), Dimension, generator: new Generator((ulong)start + 1));
            var part = AnchorMatrix.FromRows(rows, storage);
            matrix = matrix is null ? part : matrix.Append(part);
        }
        SafetensorsFile.Write(path, matrix!.Tensors("image"));
    }

    /// <summary>Candidate prompts as relative representations with k distinct random anchors each.</summary>
    private static SparseRows RandomRepresentations(int rows, int k, long anchorCount)
    {
        var random = new Random(7);
        var indices = new int[rows * k];
        var weights = new float[rows * k];
        for (var row = 0; row < rows; row++)
        {
            var chosen = new HashSet<int>();
            while (chosen.Count < k) chosen.Add(random.Next((int)anchorCount));
            var slot = row * k;
            foreach (var anchor in chosen)
            {
                indices[slot] = anchor;
                weights[slot++] = (float)(1 / Math.Sqrt(k));
            }
        }
        return new SparseRows(rows, k, anchorCount, indices, weights, weights);
    }
}
