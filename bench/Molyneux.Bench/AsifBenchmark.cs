using System.Diagnostics;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>ASIF query latency and memory against the number of anchors, on synthetic 512-d unit vectors: for each
/// anchor count and storage the anchor matrix is written as an index writes it, memory-mapped again, and single
/// queries are answered from it (top-k over all anchors read in chunks, then scores against 1 000 candidate prompts).
/// Usage: dotnet run -c Release --project bench/Molyneux.Bench -- --asif [--anchors 10000,100000,1000000] [--queries N]</summary>
public static class AsifBenchmark
{
    private const int Dimension = 512;
    private const int Candidates = 1000;

    public static int Run(string[] args)
    {
        var counts = Argument(args, "--anchors")?.Split(',').Select(long.Parse).ToArray() ?? [10_000, 100_000, 1_000_000];
        var queries = int.Parse(Argument(args, "--queries") ?? "20");
        var options = new AsifOptions();
        var folder = Path.Combine(Path.GetTempPath(), $"molyneux-asif-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        Console.WriteLine($"threads: {get_num_threads()}, k = {options.NonZeros}, p = {options.Exponent}, chunks of {options.ChunkRows} anchors, " +
                          $"{Candidates} candidate prompts, median of {queries} single-image queries after one warm-up");
        Console.WriteLine("| anchors | storage | file MB | query ms (top-k) | query ms (total) | RSS MB | peak RSS MB |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
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
        for (var q = 0; q <= queries; q++)
        {
            using var scope = NewDisposeScope();
            var query = randn(1, Dimension, generator: new Generator((ulong)q));
            var watch = Stopwatch.StartNew();
            var relative = RelativeRepresentation.Compute(query, anchors, options);
            var topKSeconds = watch.Elapsed.TotalSeconds;
            relative.Products(candidates).Dispose();
            if (q == 0) continue;
            topK.Add(topKSeconds);
            total.Add(watch.Elapsed.TotalSeconds);
        }
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"| {count:N0} | {storage.ToString().ToLowerInvariant()} | {new FileInfo(path).Length / 1e6:F0} | {1000 * Median(topK):F1} | " +
                          $"{1000 * Median(total):F1} | {process.WorkingSet64 / 1e6:F0} | {process.PeakWorkingSet64 / 1e6:F0} |");
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

    private static string? Argument(string[] args, string name) =>
        Array.IndexOf(args, name) is >= 0 and var at && at + 1 < args.Length ? args[at + 1] : null;

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
